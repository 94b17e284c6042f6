"""The SSRF guard for webhooks: which addresses a webhook may reach.

The guard itself is ``apps.core.network`` (shared with the assets app's fetches); here it gets the webhooks'
allowed networks (``WEBHOOK_ALLOWED_NETWORKS``) and their errors. Applied when an endpoint is saved and again
on every send. On send the vetted addresses are the ones connected to (the HTTP client resolves through
``address_check``), so a host that re-resolves to an internal address between the check and the connection
(DNS rebinding) is still refused.
"""

from django.conf import settings

from apps.core import network
from apps.core.network import AddressForbidden, IPAddress, host_resolve
from apps.core.network import ParsedUrl as WebhookUrl
from apps.delivery.webhooks.errors import WebhookUrlForbidden, WebhookUrlInvalid, WebhookUrlUnresolvable

__all__ = [
    "AddressForbidden",
    "WebhookUrl",
    "address_allowed",
    "address_check",
    "host_resolve",
    "url_parse",
    "url_vet",
]


def address_allowed(address: str | IPAddress) -> bool:
    return network.address_allowed(address, allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS)


def url_parse(url: str) -> WebhookUrl:
    """Syntax only: an absolute http(s) URL with a host and no credentials. Raises WebhookUrlInvalid."""
    try:
        return network.url_parse(url)
    except network.UrlSyntaxError as error:
        problem = str(error)
        if problem.startswith("Credentials"):
            problem = "Credentials in the URL are not accepted; authenticate with the signature instead."
        raise WebhookUrlInvalid({"url": [problem]}) from error


def url_vet(url: str) -> WebhookUrl:
    """Parse ``url`` and check every address its host resolves to. Raises a WebhookUrl* error (422)."""
    parsed = url_parse(url)
    try:
        addresses = host_resolve(parsed.host, parsed.port)
    except (OSError, UnicodeError) as error:
        raise WebhookUrlUnresolvable({"url": [f"The host '{parsed.host}' does not resolve ({error})."]}) from error
    refused = [address for address in addresses if not address_allowed(address)]
    if refused or not addresses:
        raise WebhookUrlForbidden(
            {"url": [f"The host '{parsed.host}' resolves to a refused address ({', '.join(refused)})."]}
        )
    return parsed


def address_check(address: str, host: str) -> None:
    """Send-time check of one resolved address. Raises AddressForbidden."""
    if not address_allowed(address):
        raise AddressForbidden(f"address_forbidden: {host} resolves to {address}, which webhooks may not reach")
