"""Errors raised by accounts services and the API-key authentication."""

from apps.core.errors import (
    ApplicationError,
    NotFound,
    PayloadTooLarge,
    PaymentRequired,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
)


class ApiKeyMissing(ApplicationError):
    code = "missing_api_key"
    status = 401
    fix = (
        "Send your key as 'Authorization: Bearer <key>'. "
        "Get one with POST /v1/demo/sandbox-key or `manage.py createapikey`."
    )


class ApiKeyInvalid(PermissionDenied):
    code = "invalid_api_key"
    fix = "Check the key; keys are shown once when created. Create a new one if it was lost."


class ApiKeyRevoked(PermissionDenied):
    code = "api_key_revoked"
    fix = "This key was revoked; use another key of the app."


class ApiKeyExpired(PermissionDenied):
    code = "api_key_expired"
    fix = "This key has expired; issue a new one (sandbox keys last about 24 hours)."


class DemoQuotaExceeded(QuotaExceeded):
    code = "demo_quota_exceeded"
    fix = "Sandbox apps are capped (3 characters, 5 sessions, 60 user messages); use a full API key for more."


class DemoInputTooLarge(PayloadTooLarge):
    code = "demo_input_too_large"
    fix = "Sandbox messages are limited to 1,200 characters; send a shorter text."


class DemoSandboxRateLimited(RateLimited):
    code = "demo_sandbox_rate_limited"
    fix = "Too many sandbox keys were issued from your address; wait an hour or reuse your key."


class DemoSandboxDisabled(PermissionDenied):
    code = "demo_sandbox_disabled"
    fix = "The operator has turned sandbox keys off (DEMO_SANDBOX_ENABLED); ask them for a key."


class QuotaExhausted(QuotaExceeded):
    code = "quota_exceeded"
    fix = "Your app reached a cap set by the operator; ask them to raise it."


class AppNotFound(NotFound):
    code = "app_not_found"
    fix = "Use your own app's id (shown as app_id when your key was issued); other apps are not visible to your key."


class BudgetExceeded(PaymentRequired):
    code = "budget_exceeded"
    fix = (
        "A budget cap was reached. Raise it with POST /v1/external-users/{external_user_ref}/budget-policy "
        "or PUT /v1/budget-policy, or wait for the next period; GET /v1/usage shows what was spent."
    )


class BalanceInsufficient(BudgetExceeded):
    """The app's balance (its lifetime budget) has no room for the next call: a 402 like any hard budget."""

    code = "insufficient_balance"
    fix = (
        "The app's credit balance is spent. Ask the operator to top it up (admin, or `manage.py balance`); "
        "GET /v1/account shows what is left."
    )


class ExternalUserNotFound(NotFound):
    code = "external_user_not_found"
    fix = "Check the external_user_ref; an end-user is known to your app once it has a session (POST /v1/sessions)."


class DemoKeySurfaceDisabled(PermissionDenied):
    code = "demo_key_surface_disabled"
    fix = "Sandbox keys cannot do this (budgets, channels, image generation); use a full API key."


STREAM_TOKEN_FIX = (
    "Mint a fresh token with POST /v1/sessions/{id}/stream-token (or POST /emotion/v1/persona/{id}/stream-token "
    "for the emotion WebSocket) and open the stream of that same session with ?token=<token>. "
    "API keys never go in a URL: send them as 'Authorization: Bearer <key>'."
)


class StreamTokenInvalid(ApplicationError):
    code = "invalid_stream_token"
    status = 401
    fix = STREAM_TOKEN_FIX


class StreamTokenExpired(ApplicationError):
    code = "stream_token_expired"
    status = 401
    fix = STREAM_TOKEN_FIX
