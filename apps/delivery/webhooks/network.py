"""The SSRF guard: which addresses a webhook may reach.

Applied when an endpoint is saved and again on every send. On send the vetted addresses are the ones
connected to (the HTTP client resolves through ``address_check``), so a host that re-resolves to an
internal address between the check and the connection (DNS rebinding) is still refused. Everything
that is not a globally routable unicast address is refused, unless the operator allows its network in
``WEBHOOK_ALLOWED_NETWORKS``; that covers private, loopback, link-local (cloud metadata at
169.254.169.254), unique-local (fd00:ec2::254), shared, reserved and multicast ranges, and IPv6
addresses that embed an IPv4 one (mapped, 6to4, NAT64) are judged by the embedded address.
"""

import ipaddress
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from apps.delivery.webhooks.errors import WebhookUrlForbidden, WebhookUrlInvalid, WebhookUrlUnresolvable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
URL_MAX_LENGTH = 2048


class AddressForbidden(OSError):
    """Raised at send time (inside the HTTP client's resolver) for a refused address."""


@cache
def _allowed_networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str | IPAddress) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    candidates = [ip] + ([inner] if (inner := _embedded_ipv4(ip)) is not None else [])
    allowed = _allowed_networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))
    if any(
        candidate in network for candidate in candidates for network in allowed if candidate.version == network.version
    ):
        return True
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


@dataclass(frozen=True)
class WebhookUrl:
    url: str
    scheme: str
    host: str
    port: int


def url_parse(url: str) -> WebhookUrl:
    """Syntax only: an absolute http(s) URL with a host and no credentials. Raises WebhookUrlInvalid."""

    def invalid(problem: str) -> WebhookUrlInvalid:
        return WebhookUrlInvalid({"url": [problem]})

    if not isinstance(url, str) or not url or len(url) > URL_MAX_LENGTH:
        raise invalid(f"A URL of 1-{URL_MAX_LENGTH} characters is required.")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise invalid("The URL contains spaces or control characters.")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise invalid(f"Not a valid URL ({error}).") from error
    if parts.scheme not in ("http", "https"):
        raise invalid("Only http:// and https:// URLs are accepted.")
    if not parts.hostname:
        raise invalid("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise invalid("Credentials in the URL are not accepted; authenticate with the signature instead.")
    if parts.fragment:
        raise invalid("The URL may not have a #fragment.")
    return WebhookUrl(url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def host_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


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
