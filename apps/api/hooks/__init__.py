"""Inbound webhooks from third-party services (Telegram), under ``/hooks/``.

Not part of the /v1 API: callers authenticate with the secret registered at the service, not an API key,
and the answers are for the service (Telegram only looks at the status code).
"""
