"""Fetching a registered image's URL once, through the SSRF guard (``apps.core.network``).

https only (plain http only where ``ASSET_FETCH_ALLOW_HTTP`` is on: tests and development). The host is
resolved once, every address is checked, and the connection goes to a checked address (TLS still verifies
the certificate against the host name), so a host that re-resolves to an internal address between the check
and the connection is refused all the same. Redirects are not followed (a redirect could lead anywhere), the
body is read in chunks up to ``ASSET_MAX_BYTES`` + 1, and the whole fetch is bounded by
``ASSET_FETCH_TIMEOUT_SECONDS``, so a server that drips bytes cannot hold a web thread.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from apps.assets.errors import AssetUrlRefused, ImageRejected
from apps.core import network

USER_AGENT = "Dramatis-Assets/1"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    content_type: str


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to ``address`` (already vetted) while speaking to ``host``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _vetted_address(parsed: network.ParsedUrl) -> str:
    try:
        addresses = network.host_resolve(parsed.host, parsed.port)
    except (OSError, UnicodeError) as error:
        raise AssetUrlRefused(f"the host '{parsed.host}' does not resolve ({error}).") from error
    allowed = settings.ASSET_FETCH_ALLOWED_NETWORKS
    refused = [address for address in addresses if not network.address_allowed(address, allowed_networks=allowed)]
    if refused or not addresses:
        raise AssetUrlRefused(
            f"the host '{parsed.host}' resolves to an address we may not fetch from ({', '.join(refused)})."
        )
    return addresses[0]


def image_fetch(url: str) -> Fetched:
    """The body of ``url`` (at most ``ASSET_MAX_BYTES``). Raises AssetUrlRefused (422) for a refused URL or a
    failed fetch, and ImageRejected when the body is over the limit."""
    schemes = ("https", "http") if settings.ASSET_FETCH_ALLOW_HTTP else ("https",)
    try:
        parsed = network.url_parse(url, schemes=schemes)
    except network.UrlSyntaxError as error:
        raise AssetUrlRefused(str(error)) from error
    address = _vetted_address(parsed)
    timeout = settings.ASSET_FETCH_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    connection_class = _PinnedHTTPSConnection if parsed.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parsed.host, parsed.port, address=address, timeout=timeout)
    limit = settings.ASSET_MAX_BYTES
    try:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = connection.getresponse()
        if response.status != 200:
            where = f" (to {response.getheader('Location')})" if 300 <= response.status < 400 else ""
            raise AssetUrlRefused(f"the URL answered HTTP {response.status}{where}; redirects are not followed.")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ImageRejected(f"the URL's image is {declared} bytes, more than {limit} (ASSET_MAX_BYTES).")
        chunks, size = [], 0
        while size <= limit:
            if time.monotonic() > deadline:
                raise AssetUrlRefused(f"the URL did not answer within {timeout:g} s.")
            chunk = response.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ImageRejected(f"the URL's image is more than {limit} bytes (ASSET_MAX_BYTES).")
        return Fetched(url, b"".join(chunks), response.getheader("Content-Type") or "")
    except (OSError, http.client.HTTPException) as error:
        raise AssetUrlRefused(f"the URL could not be fetched ({type(error).__name__}: {error}).") from error
    finally:
        connection.close()
