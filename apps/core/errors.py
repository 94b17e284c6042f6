"""One error hierarchy for the whole platform.

Services raise these; views never catch them. Each API surface renders them in its own envelope
(the native surface as ``{"detail": {code, message, fix}}``). ``code`` values are public API: add new
ones, never rename.
"""

from typing import Any, ClassVar


class ApplicationError(Exception):
    code: ClassVar[str] = "application_error"
    status: ClassVar[int] = 400
    fix: ClassVar[str] = ""

    def __init__(self, message: str, *, fix: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix_hint = fix if fix is not None else self.fix
        self.details = details or {}


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 422
    fix = "Correct the fields named in the message and send the request again."

    def __init__(self, fields: dict[str, list[str]], *, message: str | None = None, fix: str | None = None) -> None:
        summary = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
        super().__init__(message or f"Invalid request: {summary}", fix=fix, details={"fields": fields})
        self.fields = fields


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    fix = "Check the id or slug; resources of other apps are not visible to your key."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    code = "conflict"
    status = 409


class QuotaExceeded(ApplicationError):
    code = "quota_exceeded"
    status = 403


class PaymentRequired(ApplicationError):
    code = "budget_exceeded"
    status = 402


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status = 413
    fix = "Send a smaller request body."


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429
    fix = "Wait and retry with backoff."
    retry_after: int = 1  # whole seconds; every surface sends it as Retry-After


class StreamLimitReached(RateLimited):
    """Opening one more stream (SSE or WebSocket) would pass ``STREAM_MAX_CONNECTIONS_PER_KEY``."""

    code = "too_many_streams"
    fix = "Close a stream you no longer read, or reuse one: each API key may hold a limited number open."


class UpstreamUnavailable(ApplicationError):
    code = "upstream_unavailable"
    status = 503
    fix = "Retry later; the model provider did not answer."


def field_error_paths(problems: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as ``{"a.b[2]": [messages]}``. List fields key their items' errors by index."""
    if isinstance(problems, dict):
        found: dict[str, list[str]] = {}
        for key, value in problems.items():
            if key == "non_field_errors":
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            found.update(field_error_paths(value, child))
        return found
    if isinstance(problems, list) and any(isinstance(item, dict | list) for item in problems):
        found = {}
        for index, item in enumerate(problems):
            found.update(field_error_paths(item, f"{path}[{index}]"))
        return found
    messages = problems if isinstance(problems, list) else [problems]
    return {path or "body": [str(message) for message in messages]}
