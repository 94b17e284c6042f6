"""Sessions, the per-session event log, runs (one async turn each) and the turn pipeline.

Public surface: ``services`` (session_create, message_send, run_execute, runs_recover),
``selectors`` (session_get, session_list, event_list, run_list), ``errors``; ``tasks`` (what the services
hand to ``apps.core.executor``, by name). Committed events are announced to the sinks in
``settings.EVENT_SINKS``; this app never imports ``delivery``. Depends on characters, llm, accounts and core.
"""
