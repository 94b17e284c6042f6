"""API surfaces: thin adapters that validate input, call domain services and render their envelope.

Each surface (``native``, ``emotion``, ``hooks``, ``home``) is its own app and never imports another;
what they share lives in ``shared``. The package itself (``apps.api``, an app) sits above them all and may
know the whole site: ``manage.py serve``.
"""
