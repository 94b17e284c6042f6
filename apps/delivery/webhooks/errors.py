"""Errors of webhook endpoints: unknown endpoints, refused URLs (the SSRF guard) and secrets."""

from apps.core.errors import NotFound, ValidationFailed


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    fix = "Check the channel id; list them with GET /v1/sessions/{id}/channels or GET /v1/webhook-endpoints."


class WebhookUrlInvalid(ValidationFailed):
    code = "webhook_url_invalid"
    fix = "Send an absolute http:// or https:// URL with a host name, at most 2048 characters, without credentials."


class WebhookUrlForbidden(ValidationFailed):
    """The host resolves to an address webhooks may not reach (SSRF guard)."""

    code = "webhook_url_forbidden"
    fix = (
        "Use a publicly reachable host. Private, loopback, link-local, unique-local, multicast and cloud "
        "metadata addresses are refused unless the operator lists them in WEBHOOK_ALLOWED_NETWORKS."
    )


class WebhookUrlUnresolvable(ValidationFailed):
    code = "webhook_url_unresolvable"
    fix = "Check the host name: it must resolve in DNS from the server."


class WebhookSecretInvalid(ValidationFailed):
    code = "webhook_secret_invalid"
    fix = (
        "Send 16-512 printable characters without spaces, or a Standard Webhooks secret 'whsec_' + base64 of "
        "24-64 random bytes; or omit it and use the one generated for you."
    )
