"""Reads cached in Django's cache (Redis in production, local memory embedded) until their writer says
they changed: shared by every process, invalidated explicitly, never by a blind TTL alone.

A ``Generation`` names a family of cached reads (the model catalog, one app's budget policies). Each read
is stored tagged with the generation token current when it was computed; the writing service calls
``bump()`` when it changes the family, at once and again after its transaction commits, and every
process then misses and reads the database afresh. A reader that computed from data older than a
concurrent writer's commit can only store its value under the token the writer has since replaced, so
a stale value is never served after the writer's commit. The token is random, so a token lost from the
cache (eviction, a Redis flush) cannot come back to match an old value.

One cache round trip per hit: the token and the value are fetched together with ``get_many``. A hot path
that knows which families it is about to read (an NPC turn: its scenario, the catalog, its app's budgets)
fetches them all in one round trip with ``generations_read_ahead``; the reads inside the block answer from
what it fetched, exactly as if each had asked the cache at that moment.
"""

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from apps.core.redis_cache import CACHE_UNREACHABLE

# Values live at most this long even if nothing bumps (a safety net for writes made behind the services'
# back, e.g. a manual SQL fix); correctness never depends on it.
DEFAULT_TIMEOUT = 600


class Generation:
    """A family of cached reads that one kind of write invalidates together."""

    def __init__(self, namespace: str, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.namespace = namespace
        self.timeout = timeout

    def _token_key(self, scope: str) -> str:
        return f"gen:{self.namespace}:{scope}"

    def _value_key(self, scope: str, key: str) -> str:
        return f"gen:{self.namespace}:{scope}:v:{key}"

    def read(self, *, scope: str = "-", key: str = "-") -> "GenerationRead":
        """Names one read of this family, for ``generations_read_ahead``."""
        return GenerationRead(self._token_key(scope), self._value_key(scope, key))

    def get(self, compute: Callable[[], Any], *, scope: str = "-", key: str = "-") -> Any:
        """The cached value of ``key`` in ``scope``, or ``compute()`` stored under the current token."""
        token_key, value_key = self._token_key(scope), self._value_key(scope, key)
        ahead = _READ_AHEAD.get()
        try:
            found = ahead if ahead is not None and value_key in ahead else cache.get_many([token_key, value_key])
            token = found.get(token_key)
            tagged = found.get(value_key)
            if token is not None and tagged is not None and tagged[0] == token:
                return tagged[1]
            if token is None:
                token = secrets.token_hex(8)
                if not cache.add(token_key, token, timeout=None):
                    token = cache.get(token_key) or token
        except CACHE_UNREACHABLE:
            # Redis is down: a miss that stores nothing. The database answers, so an outage costs reads, not requests.
            return compute()
        value = compute()
        with suppress(*CACHE_UNREACHABLE):
            cache.set(value_key, (token, value), timeout=self.timeout)
        if ahead is not None and value_key in ahead:
            ahead[token_key], ahead[value_key] = token, (token, value)  # a second read in the block sees it
        return value

    def bump(self, *, scope: str = "-") -> None:
        """Invalidate every value of ``scope``: now, and again once the caller's transaction commits (so a
        reader that read the old rows meanwhile cannot leave its value valid).

        Unlike reads, a bump does not shrug off an unreachable Redis: a write whose invalidation was lost could
        leave old values served once Redis is back, so the write fails (503) before it commits instead."""
        token_key = self._token_key(scope)
        cache.set(token_key, secrets.token_hex(8), timeout=None)
        ahead = _READ_AHEAD.get()
        if ahead is not None and token_key in ahead:
            ahead[token_key] = None  # what was read ahead is stale now: the next read asks the cache
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: cache.set(token_key, secrets.token_hex(8), timeout=None))


@dataclass(frozen=True)
class GenerationRead:
    """The two cache keys of one read (``Generation.read``): its family's token and its tagged value."""

    token_key: str
    value_key: str


# The reads fetched ahead for the current block: cache key -> what the cache held (absent keys map to None).
_READ_AHEAD: ContextVar[dict[str, Any] | None] = ContextVar("generations_read_ahead", default=None)


@contextmanager
def generations_read_ahead(*reads: GenerationRead) -> Iterator[None]:
    """Fetch ``reads`` (of any families) in one cache round trip; inside the block each ``Generation.get`` of one
    of them answers from that fetch instead of its own round trip. A miss still computes and stores as usual.

    The values are as fresh as at the block's start: a read made then, not later in the same request. Blocks
    nest (the inner one's reads win inside it); reads not named ahead go to the cache as always."""
    keys = [key for read in reads for key in (read.token_key, read.value_key)]
    try:
        found = cache.get_many(keys)
    except CACHE_UNREACHABLE:
        found = {}  # each read misses and goes to the database (``Generation.get``)
    outer = _READ_AHEAD.get()
    fetched = {**(outer or {}), **{key: found.get(key) for key in keys}}
    token = _READ_AHEAD.set(fetched)
    try:
        yield
    finally:
        _READ_AHEAD.reset(token)
