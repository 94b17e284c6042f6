"""Personas: personality (HEXACO + facets), presets, the emotion engine and emotion sessions.

Other apps use only the public doors: ``services`` (create, turn, delete emotion sessions; a native turn's
``persona_turn_preview`` before its reply and ``persona_turn_commit`` with it; a character's emotion session;
proactive preferences and actions; the persona API's personas and worlds of molroo's SDK 0.7),
``selectors`` (sessions, state snapshots, a character's starting state, presets, personas and worlds),
``errors`` (the engine's input errors included) and ``types`` (``PersonaTurn``, ``PersonaTurnPreview``,
``AppraisalOutcome`` and the rows the services return).

Inside: ``engine`` (pure functions, no Django: personality, presets with their data in ``preset_data``,
emotion config, appraisal, dynamics, relationship, prompt data), ``appraisal`` (the model appraiser, metered
by its caller through a hook, with the offline lexicon as the fallback), ``specs`` (a character's persona
body completed from its content), ``triggers`` (when a persona reaches out first, as pure rules),
``events`` (molroo's persona events, announced on the event bus, ``apps.core.events``), ``persona_config`` (the
SDK's persona config read as the engine's persona body, and its system prompt), ``worlds`` (a world's default
actions and how a witness takes in an act) and ``world_selectors`` (re-exported by ``selectors``). Depends on
``characters``, ``llm``, ``accounts`` and ``core``; never on ``conversations`` (which calls it for the
native turn's emotion step).
"""
