"""Tenants ("apps"), their API keys and stream tokens, the usage ledger and budgets, and the demo sandbox.

Doors: ``services`` (app_create, api_key_create, api_key_revoke, sandbox_issue, the budget reservations
and settlements, stream tokens), ``selectors`` (api_key_authenticate, stream_token_app, usage reports,
budget statuses), ``types`` (the ledger's and budgets' enumerations) and ``errors``. Depends on ``core``
only. The DRF and Channels authentication built on these lives with the surfaces (``apps.api.shared``).
"""
