"""The playground's own errors (its JSON views render every error in the house envelope,
``{"detail": {code, message, fix}}``, like the native surface)."""

from apps.core.errors import ApplicationError, PermissionDenied


class SignInRequired(ApplicationError):
    code = "not_signed_in"
    status = 401
    fix = "Sign in to the admin (/admin/login/?next=/playground/) with a staff account, then reload the page."


class PlaygroundNotAllowed(PermissionDenied):
    code = "playground_not_allowed"
    fix = "Ask a superuser to bind your staff account to an app (docs/operators.md, 'Staff bound to one app')."
