"""A small fake Telegram Bot API on 127.0.0.1, speaking the real HTTP protocol.

Requests go to ``/bot<token>/<method>`` with parameters as a JSON body, a form body or the query string,
and get ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": n, "description": "...",
"parameters": {"retry_after": s}}`` with the same HTTP status, as Telegram answers. Implemented methods:
``getMe``, ``setWebhook`` (url, secret_token, allowed_updates), ``getWebhookInfo``, ``deleteWebhook``,
``sendMessage``, ``sendChatAction`` and ``sendPhoto`` (multipart/form-data with the picture's bytes in the
``photo`` part, as Telegram takes an upload; the bytes are recorded as ``photo_bytes``). A token the server
does not know gets 401 Unauthorized.

It records every call (method, token, parameters) for assertions, and can be told to misbehave:
``fail(method, error_code=..., times=n, retry_after=s)`` makes the next ``n`` calls of ``method`` fail
(a 429 with ``retry_after``, a 500, a 403 "bot was blocked by the user", ...), and ``slow(method, seconds)``
delays answers. ``webhook_of(token)`` tells where the bot's updates go and with which secret, and
``update(...)`` builds an Update object the way Telegram would post it.

In process::

    with FakeTelegramServer() as server:
        token = server.bot_create(username="luna_bot")
        ... server.base_url ... server.calls ...
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass(frozen=True)
class BotCall:
    method: str
    token: str
    params: dict[str, Any]
    at: float


@dataclass
class FakeBot:
    id: int
    username: str
    first_name: str
    webhook_url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    pending_update_count: int = 0
    last_error_message: str | None = None


@dataclass
class _Failure:
    error_code: int
    description: str
    times: int
    retry_after: int | None = None
    after: int = 0


@dataclass
class _State:
    bots: dict[str, FakeBot] = field(default_factory=dict)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    blocked_chats: set[int] = field(default_factory=set)


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegramServer:
    """The server, on its own thread and event loop (``start``/``stop`` or a ``with`` block)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._calls: list[BotCall] = []
        self._state = _State()
        self._ids = itertools.count(7_000_000_001)
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(500_000_001)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------------------

    def bot_create(self, *, username: str | None = None, first_name: str = "Luna") -> str:
        """Register a bot and return its token (``<bot id>:<35 characters>``, like BotFather's)."""
        bot_id = next(self._ids)
        token = f"{bot_id}:AA{secrets.token_urlsafe(25)[:33]}"
        with self._lock:
            self._state.bots[token] = FakeBot(id=bot_id, username=username or f"bot{bot_id}_bot", first_name=first_name)
        return token

    def bot_revoke(self, token: str) -> None:
        """Forget the token, as BotFather's "revoke" does: every later call with it gets 401."""
        with self._lock:
            self._state.bots.pop(token, None)

    def bot(self, token: str) -> FakeBot:
        with self._lock:
            return self._state.bots[token]

    def webhook_of(self, token: str) -> tuple[str, str | None]:
        bot = self.bot(token)
        return bot.webhook_url, bot.secret_token

    def fail(
        self,
        method: str,
        *,
        error_code: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        description: str = "",
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` fail with ``error_code`` (429: with ``retry_after``), once
        ``after`` calls have gone through."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        text = description or _DESCRIPTIONS.get(error_code, "Error").format(retry_after=retry_after)
        with self._lock:
            self._state.failures.setdefault(method, []).append(_Failure(error_code, text, times, retry_after, after))

    def slow(self, method: str, seconds: float) -> None:
        with self._lock:
            self._state.delays[method] = seconds

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot: sends to ``chat_id`` get 403."""
        with self._lock:
            self._state.blocked_chats.add(chat_id)

    def calls_clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._state = _State()

    @property
    def calls(self) -> list[BotCall]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str, token: str | None = None) -> list[BotCall]:
        return [c for c in self.calls if c.method == method and (token is None or c.token == token)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of the successful sendMessage calls (to ``chat_id``), in the order they were accepted."""
        return [
            c.params["text"]
            for c in self.calls_of("sendMessage")
            if c.params.get("_accepted") and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def sent_photos(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The accepted sendPhoto uploads (to ``chat_id``): their ``photo_bytes``, ``caption`` and the rest."""
        return [
            c.params
            for c in self.calls_of("sendPhoto")
            if c.params.get("_accepted") and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def update(self, *, user_id: int, text: str | None = "hi", chat_type: str = "private", **message: Any) -> dict:
        """An Update as Telegram posts it: a message from ``user_id`` in their private chat."""
        sender = {"id": user_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}
        chat = {"id": user_id if chat_type == "private" else -1000000000 - user_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Ada"
        body: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        if text is not None:
            body["text"] = text
        body.update(message)
        return {"update_id": next(self._update_ids), "message": body}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FakeTelegramServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._bind())
            except BaseException as error:
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-telegram-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    async def _bind(self) -> None:
        app = web.Application()
        app.router.add_route("*", r"/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # -- the Bot API -------------------------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[f"{key}_bytes"] = value.file.read()
                        params[f"{key}_filename"] = value.filename
                        params[f"{key}_content_type"] = value.content_type
                    else:
                        params[key] = value
            elif request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(parse_qsl(await request.text()))
        return params

    @staticmethod
    def _error(error_code: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=error_code)

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await self._params(request)
        call = BotCall(method=method, token=token, params=params, at=time.monotonic())
        with self._lock:
            self._calls.append(call)
            bot = self._state.bots.get(token)
            delay = self._state.delays.get(method, 0.0)
            failure = None
            queued = self._state.failures.get(method) or []
            if bot is not None and queued:
                if queued[0].after > 0:
                    queued[0].after -= 1
                else:
                    failure = queued[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        queued.pop(0)
        if delay:
            await asyncio.sleep(delay)
        if bot is None:
            return self._error(401, "Unauthorized")
        if failure is not None:
            return self._error(failure.error_code, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        answer = handler(bot, params)
        if isinstance(answer, web.Response):
            return answer
        params["_accepted"] = True
        return web.json_response({"ok": True, "result": answer})

    def _m_getMe(self, bot: FakeBot, params: dict) -> dict:  # noqa: N802 - Bot API method names
        return {
            "id": bot.id,
            "is_bot": True,
            "first_name": bot.first_name,
            "username": bot.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_setWebhook(self, bot: FakeBot, params: dict) -> Any:  # noqa: N802
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256):
            return self._error(400, "Bad Request: secret token is invalid")
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://testserver")):
            return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        with self._lock:
            bot.webhook_url, bot.secret_token, bot.allowed_updates = url, secret, allowed
        return True

    def _m_deleteWebhook(self, bot: FakeBot, params: dict) -> bool:  # noqa: N802
        with self._lock:
            bot.webhook_url, bot.secret_token = "", None
        return True

    def _m_getWebhookInfo(self, bot: FakeBot, params: dict) -> dict:  # noqa: N802
        info: dict[str, Any] = {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": bot.pending_update_count,
        }
        if bot.webhook_url:
            info["max_connections"] = 40
            info["ip_address"] = "127.0.0.1"
            if bot.allowed_updates is not None:
                info["allowed_updates"] = bot.allowed_updates
        if bot.last_error_message:
            info["last_error_date"] = int(time.time()) - 5
            info["last_error_message"] = bot.last_error_message
        return info

    def _chat_id(self, params: dict) -> int | web.Response:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            return self._error(400, "Bad Request: chat not found")
        if chat_id in self._state.blocked_chats:
            return self._error(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _m_sendMessage(self, bot: FakeBot, params: dict) -> Any:  # noqa: N802
        chat_id = self._chat_id(params)
        if isinstance(chat_id, web.Response):
            return chat_id
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        return {
            "message_id": next(self._message_ids),
            "from": {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }

    def _m_sendPhoto(self, bot: FakeBot, params: dict) -> Any:  # noqa: N802
        chat_id = self._chat_id(params)
        if isinstance(chat_id, web.Response):
            return chat_id
        photo = params.get("photo_bytes")
        if not photo:
            if isinstance(params.get("photo"), str) and params["photo"]:  # a file_id or URL: not what we send
                return self._error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            return self._error(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption") or ""
        if len(caption) > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        message = {
            "message_id": next(self._message_ids),
            "from": {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "photo": [{"file_id": f"fake-photo-{len(photo)}", "file_size": len(photo)}],
        }
        if caption:
            message["caption"] = caption
        return message

    def _m_sendChatAction(self, bot: FakeBot, params: dict) -> Any:  # noqa: N802
        chat_id = self._chat_id(params)
        if isinstance(chat_id, web.Response):
            return chat_id
        if params.get("action") not in {"typing", "upload_photo", "record_voice", "choose_sticker"}:
            return self._error(400, "Bad Request: wrong parameter action in request")
        return True
