"""A webhook receiver on 127.0.0.1 that checks both signatures of every POST, the way an integrator would.

Real HTTP (aiohttp's server on its own thread), so the real sender runs against it. Each request is
recorded with both verdicts: ``x-auto-dating-signature`` recomputed with HMAC-SHA256 over the raw body,
and the Standard Webhooks headers checked by the official ``standardwebhooks`` library. What it answers
is scripted per request: ``respond(status=..., headers=..., delay=...)`` queues answers (taken in order,
then the default 200); ``redirect_to``/``delay`` cover the 3xx and timeout cases.
Use it as a context manager or ``start()``/``stop()``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError


def standard_verifier_secret(secret: str) -> str | bytes:
    """What an integrator passes to ``standardwebhooks.Webhook`` for the secret they registered."""
    return secret if secret.startswith("whsec_") else secret.encode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float  # time.time()
    legacy_signature_ok: bool
    standard_signature_ok: bool

    @property
    def event_id(self) -> str:
        return self.headers.get("x-auto-dating-event-id", "")

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class WebhookReceiver:
    def __init__(self, secret: str | None = None, *, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.received: list[Received] = []
        self.answers: deque[Answer] = deque()
        self.default = Answer()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # --- scripting --------------------------------------------------------------------------------
    def respond(self, status: int = 200, *, headers: dict[str, str] | None = None, delay: float = 0.0, times: int = 1):
        for _ in range(times):
            self.answers.append(Answer(status, headers or {}, delay))
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def event_ids(self) -> list[str]:
        with self._lock:
            return [item.event_id for item in self.received]

    # --- serving ----------------------------------------------------------------------------------
    def _verify(self, headers: dict[str, str], body: bytes) -> tuple[bool, bool]:
        if self.secret is None:
            return False, False
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        legacy = hmac.compare_digest(expected, headers.get("x-auto-dating-signature", ""))
        try:
            Webhook(standard_verifier_secret(self.secret)).verify(body, headers)
            standard = True
        except (WebhookVerificationError, ValueError, KeyError):
            standard = False
        return legacy, standard

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        arrived_at = time.time()
        headers = {name.lower(): value for name, value in request.headers.items()}
        legacy, standard = self._verify(headers, body)
        with self._lock:
            self.received.append(Received(request.path, headers, body, arrived_at, legacy, standard))
            answer = self.answers.popleft() if self.answers else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return web.Response(status=answer.status, headers=answer.headers, text="ok")

    async def _start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def start(self) -> WebhookReceiver:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="webhook-receiver", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
