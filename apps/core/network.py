"""The SSRF guard's pure part: which addresses an outgoing request of ours may reach, and URL syntax.

Shared by every feature that fetches or posts to a URL a client gave us (webhooks in ``delivery``, images
registered by URL in ``assets``); each passes its own operator-allowed networks (``WEBHOOK_ALLOWED_NETWORKS``,
``ASSET_FETCH_ALLOWED_NETWORKS``) and wraps the failures in its own errors.

Everything that is not a globally routable unicast address is refused unless its network is allowed: private,
loopback, link-local (cloud metadata at 169.254.169.254), unique-local (fd00:ec2::254), shared, reserved and
multicast ranges. IPv6 addresses that embed an IPv4 one (mapped, 6to4, NAT64) are judged by the embedded
address. Callers check the addresses they actually connect to (resolve, check, connect to the checked
address), so a host that re-resolves to an internal address between a check and the connection (DNS
rebinding) is still refused.
"""

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
URL_MAX_LENGTH = 2048


class AddressForbidden(OSError):
    """An address the guard refuses, raised where a connection is about to be made (an OSError, so HTTP
    clients report it like any failed connection)."""


class UrlSyntaxError(ValueError):
    """A URL that is not an absolute URL of an accepted scheme with a host and no credentials."""


@dataclass(frozen=True)
class ParsedUrl:
    url: str
    scheme: str
    host: str
    port: int


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
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


def address_allowed(address: str | IPAddress, *, allowed_networks: Sequence[str] = ()) -> bool:
    """Whether ``address`` is globally routable unicast, or inside one of ``allowed_networks`` (CIDRs)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    candidates = [ip] + ([inner] if (inner := _embedded_ipv4(ip)) is not None else [])
    allowed = _networks(tuple(allowed_networks))
    if any(
        candidate in network for candidate in candidates for network in allowed if candidate.version == network.version
    ):
        return True
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


def url_parse(url: str, *, schemes: Sequence[str] = ("http", "https")) -> ParsedUrl:
    """Syntax only: an absolute URL of one of ``schemes`` with a host, no credentials and no fragment.
    Raises UrlSyntaxError with a message fit for the client."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX_LENGTH:
        raise UrlSyntaxError(f"A URL of 1-{URL_MAX_LENGTH} characters is required.")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise UrlSyntaxError("The URL contains spaces or control characters.")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlSyntaxError(f"Not a valid URL ({error}).") from error
    if parts.scheme not in schemes:
        raise UrlSyntaxError(f"Only {' and '.join(f'{scheme}://' for scheme in schemes)} URLs are accepted.")
    if not parts.hostname:
        raise UrlSyntaxError("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlSyntaxError("Credentials in the URL are not accepted.")
    if parts.fragment:
        raise UrlSyntaxError("The URL may not have a #fragment.")
    return ParsedUrl(url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def host_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))
