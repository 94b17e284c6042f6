"""Tenants ("apps"), their API keys and quotas, and the demo sandbox.

Public surface: ``services`` (app_create, api_key_create, api_key_revoke, sandbox_issue,
app_quota_consume), ``selectors`` (api_key_authenticate) and ``errors``. Depends on ``core`` only.
"""
