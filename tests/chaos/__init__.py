"""The chaos suite: the production stack on 127.0.0.1, broken on purpose, and what must still hold.

``harness.py`` (the stack), ``llm_stub.py`` (the model), ``sink.py`` (the webhook receiver), ``invariants.py``
(the checker) and ``scenarios.py`` (each scenario with its pass criteria and figures). The fast variants run in
the ``live`` part of the test suite (marker ``chaos``); ``make chaos`` runs the full ones
(``python -m tests.chaos --full``) and prints a summary table.
"""
