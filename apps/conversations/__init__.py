"""Sessions, the per-session event log, runs (one async turn each) and the turn pipeline.

Doors: ``services`` (session_create, message_send, run_execute, runs_recover, events_append, the proactive
scan), ``selectors`` (session_get, session_list, event_list, run_list, the proactive view), ``types``
(run statuses and kinds, the proactive controls' shape) and ``errors``. Inside: ``prompts``, ``bubbles``,
``proactive_rules`` (pure: when a character may write first) and ``proactive_controls`` (the settings an
integrator tunes); ``tasks`` are what the services hand to ``apps.core.executor``, by name. Committed events
are announced on the event bus (``apps.core.events``); this app never imports ``delivery``. Depends on
personas, characters, llm, accounts and core.
"""
