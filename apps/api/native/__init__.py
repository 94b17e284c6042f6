"""The native ``/v1`` surface (LoreOS-compatible).

Success: ``{schema_version, data, next_actions}``. Errors: ``{"detail": {code, message, fix}}``.
"""
