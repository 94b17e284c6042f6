"""Personas: personality (HEXACO + facets), presets, the emotion engine and emotion sessions.

Public surface: ``engine`` (pure functions, no Django: personality, emotion config, appraisal, dynamics,
relationship, prompt data), ``appraisal`` (the model appraiser, metered by its caller through a hook, with
the offline lexicon as the fallback), ``characters`` (a character's persona and emotion session),
``events`` (molroo's persona events, announced on the event bus, ``apps.core.events``), ``proactive``
(molroo's proactive actions), and ``services``/``selectors``/``errors`` for emotion sessions. Depends on
``characters``, ``llm``, ``accounts`` and ``core``; never on ``conversations`` (which calls it for the
native turn's emotion step).
"""
