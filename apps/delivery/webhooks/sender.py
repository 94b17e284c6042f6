"""The HTTP side of webhook delivery: signed POSTs over one aiohttp session per process.

aiohttp sends ~2,000 signed POSTs/s from one process here (httpx ~340/s; see bench/webhooks.py), so
sync callers (Celery task threads, the embedded pool) hand a batch to a private event loop on a daemon
thread and wait for its outcomes. Redirects are not followed (a 3xx is a failure), the whole attempt is
bounded by ``WEBHOOK_TIMEOUT_SECONDS``, and every connection goes to an address the SSRF guard
accepted: host names are resolved by ``VettingResolver`` (the addresses it returns are the ones
connected to), IP literals are checked before the request.
"""

import asyncio
import atexit
import contextlib
import ipaddress
import os
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.resolver import ThreadedResolver
from django.conf import settings

from apps.delivery.webhooks.network import AddressForbidden, address_check

USER_AGENT = "Dramatis-Webhooks/1"
_ERROR_MAX = 500


@dataclass(frozen=True)
class Attempt:
    url: str
    host: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    abort: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class VettingResolver(ThreadedResolver):
    """Resolves like the system resolver, then refuses the host if any address fails the SSRF guard."""

    async def resolve(self, host: str, port: int = 0, family=0):
        results = await super().resolve(host, port, family)
        for result in results:
            address_check(result["host"], host)
        return results


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


class _Client:
    """One event loop thread and one ClientSession, created lazily per process (and again after a fork)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="dramatis-webhooks", daemon=True).start()
        self.session: aiohttp.ClientSession = asyncio.run_coroutine_threadsafe(self._open(), self.loop).result()

    async def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=VettingResolver(), use_dns_cache=False, limit=settings.WEBHOOK_MAX_CONNECTIONS
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )

    async def _post(self, attempt: Attempt) -> Outcome:
        try:
            if _is_ip_literal(attempt.host):
                address_check(attempt.host.strip("[]"), attempt.host)
            timeout = aiohttp.ClientTimeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
            async with self.session.post(
                attempt.url, data=attempt.body, headers=attempt.headers, allow_redirects=False, timeout=timeout
            ) as response:
                # Read (and drop) a little of the body so the connection can be reused; never store it.
                await response.content.read(65536)
                return Outcome(
                    status_code=response.status,
                    error="" if 200 <= response.status < 300 else f"http_{response.status}",
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    abort=response.headers.get("webhook-delivery", "").lower() == "abort-message",
                )
        except AddressForbidden as error:
            return Outcome(error=str(error)[:_ERROR_MAX])
        except TimeoutError:
            return Outcome(error=f"timeout: no answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g}s")
        except aiohttp.ClientConnectorError as error:
            cause = error.os_error if isinstance(error.os_error, AddressForbidden) else error
            return Outcome(error=f"{type(cause).__name__}: {cause}"[:_ERROR_MAX])
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return Outcome(error=f"{type(error).__name__}: {error}"[:_ERROR_MAX])

    def close(self) -> None:
        """Close the session on its loop (at exit), so interpreter shutdown does not find it open."""
        if self.pid == os.getpid() and self.loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.session.close(), self.loop).result(timeout=2)

    async def post_many(self, attempts: list[Attempt]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._post(attempt) for attempt in attempts)))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_client: _Client | None = None
_client_lock = threading.Lock()


def _shared_client() -> _Client:
    global _client
    with _client_lock:
        if _client is None or _client.pid != os.getpid():
            _client = _Client()
            atexit.register(_client.close)
        return _client


def post_many(attempts: list[Attempt]) -> list[Outcome]:
    """POST each attempt concurrently; block until every one has an outcome (never raises for HTTP trouble)."""
    if not attempts:
        return []
    client = _shared_client()
    future = asyncio.run_coroutine_threadsafe(client.post_many(attempts), client.loop)
    return future.result(timeout=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
