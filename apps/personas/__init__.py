"""Personas: personality (HEXACO + facets), presets, the emotion engine and emotion sessions.

Public surface: ``engine`` (pure functions, no Django: personality, emotion config, appraisal,
dynamics, relationship, prompt data), ``appraisal`` (the LLM appraiser with the offline lexicon as
fallback), ``services``/``selectors``/``errors`` for emotion sessions. Depends on ``characters``,
``llm``, ``accounts`` and ``core``; never on ``conversations``.
"""
