"""The chaos suite's model: the shared fake OpenAI server (``tests/fakes/openai_server.py``, stream and
non-stream chat completions) with a latency drawn per request, injected failures and counters.

``LLMStub(latency=(2, 5), failure_rate=0.1, reset_rate=0.05)``: every chat request (appraisals too) first waits
``latency`` seconds (a number, or a ``(low, high)`` range drawn uniformly), then fails with a 500 with probability
``failure_rate``, or has its connection dropped without an answer with probability ``reset_rate``; otherwise
the fake answers as in its current mode. ``configure(...)`` changes any of these while the stack runs;
``counts`` says how many requests arrived, were answered, failed and were reset. It keeps only the latest
requests' records (``keep_requests``), so a long run does not grow it without bound.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

from aiohttp import web

from tests.fakes.openai_server import FakeOpenAIServer


class LLMStub(FakeOpenAIServer):
    def __init__(
        self,
        *,
        latency: float | tuple[float, float] = 0.0,
        failure_rate: float = 0.0,
        reset_rate: float = 0.0,
        seed: int | None = None,
        keep_requests: int = 2000,
        **kwargs,
    ) -> None:
        super().__init__(keep_requests=keep_requests, **kwargs)
        self._random = random.Random(seed)
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self.configure(latency=latency, failure_rate=failure_rate, reset_rate=reset_rate)

    def configure(
        self,
        *,
        latency: float | tuple[float, float] | None = None,
        failure_rate: float | None = None,
        reset_rate: float | None = None,
    ) -> None:
        if latency is not None:
            self.latency = (float(latency), float(latency)) if isinstance(latency, int | float) else tuple(latency)
        if failure_rate is not None:
            self.failure_rate = failure_rate
        if reset_rate is not None:
            self.reset_rate = reset_rate

    def _count(self, what: str) -> None:
        with self._counts_lock:
            self._counts[what] += 1

    @property
    def counts(self) -> dict[str, int]:
        """``received``, ``answered``, ``failed`` (500) and ``reset`` (connection dropped) chat requests."""
        with self._counts_lock:
            return {name: self._counts[name] for name in ("received", "answered", "failed", "reset")}

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        self._count("received")
        low, high = self.latency
        draw = self._random.random()
        if high > 0:
            await asyncio.sleep(self._random.uniform(low, high))
        if draw < self.failure_rate:
            self._count("failed")
            error = {"message": "The server had an error (chaos).", "type": "server_error", "param": None, "code": None}
            return web.json_response({"error": error}, status=500)
        if draw < self.failure_rate + self.reset_rate:
            self._count("reset")
            request.transport.close()  # no status line at all: the client sees a dropped connection
            return web.Response(status=500)
        response = await super()._chat_completions(request)
        self._count("answered")
        return response
