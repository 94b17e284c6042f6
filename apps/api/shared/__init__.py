"""What every API surface shares, and nothing that belongs to one: authentication of bearer keys, stream tokens
and staff sessions; the pieces of error rendering; validating a request against a serializer; page cursors.

Surfaces (``apps.api.<surface>``) import this package and never each other (import-linter contracts in
pyproject.toml); this package imports no surface.
"""
