"""A small client for the Telegram Bot API: ``POST <TELEGRAM_API_BASE_URL>/bot<token>/<method>`` with a JSON
body, answered by ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}``.

Every failure becomes a ``BotApiError`` that says whether retrying can help. The token is part of the URL,
so nothing here ever puts a URL or a library's message (which may quote it) into an error.
"""

import logging
import re
from functools import cache
from typing import Any

import httpx2
from django.conf import settings

from apps.delivery.telegram.types import TOKEN_PATTERN

_TOKEN_IN_URL = re.compile(r"/bot[0-9]{1,20}:[A-Za-z0-9_-]+")


class TokenRedactingFilter(logging.Filter):
    """Blanks bot tokens out of log lines: the HTTP client logs each request's URL at INFO, and Bot API
    URLs carry the token (``/bot<token>/sendMessage``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = _TOKEN_IN_URL.sub("/bot<redacted>", message), ()
        return True


logging.getLogger("httpx2").addFilter(TokenRedactingFilter())


class BotApiError(Exception):
    """A failed Bot API call. ``error_code`` is Telegram's (an HTTP status), or None when no answer came."""

    def __init__(
        self, method: str, description: str, *, error_code: int | None = None, retry_after: float | None = None
    ):
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying: no answer, a flood-control 429, or a server error."""
        return self.error_code is None or self.error_code == 429 or self.error_code >= 500

    @property
    def unauthorized(self) -> bool:
        """The token is not (or no longer) valid: Telegram answers 401, and 404 for a token it cannot parse."""
        return self.error_code in (401, 404)


@cache
def _client(timeout: float) -> httpx2.Client:
    return httpx2.Client(
        timeout=timeout,
        follow_redirects=False,
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "Dramatis"},
    )


def call(
    token: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> Any:
    """Call ``method`` with ``params`` and return its ``result``; raises BotApiError.

    With ``files`` (field -> (file name, bytes, content type)) the call is a multipart/form-data upload, the
    way Telegram takes a photo's bytes (``sendPhoto``); ``params`` then go as form fields."""
    if not TOKEN_PATTERN.match(token):
        raise BotApiError(method, "The bot token is malformed.", error_code=404)
    url = f"{settings.TELEGRAM_API_BASE_URL.rstrip('/')}/bot{token}/{method}"
    client = _client(timeout or settings.TELEGRAM_TIMEOUT_SECONDS)
    try:
        if files:
            fields = {key: str(value) for key, value in (params or {}).items() if value is not None}
            response = client.post(url, data=fields, files=files)
        else:
            response = client.post(url, json=params or {})
    except httpx2.TimeoutException:
        raise BotApiError(method, "Telegram did not answer in time.") from None
    except httpx2.HTTPError as error:
        raise BotApiError(method, f"Could not reach Telegram ({type(error).__name__}).") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "ok" not in body:
        status = response.status_code
        raise BotApiError(
            method, f"Unexpected answer from Telegram (HTTP {status}).", error_code=status if status >= 400 else 502
        )
    if body["ok"] is True:
        return body.get("result")
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    error_code = body.get("error_code") if isinstance(body.get("error_code"), int) else response.status_code
    retry_after = parameters.get("retry_after")
    raise BotApiError(
        method,
        str(body.get("description") or "Telegram refused the request.")[:300],
        error_code=error_code,
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )


def token_hint(token: str) -> str:
    """``123456789:…wxyz``: the bot's public id and the token's last four characters."""
    bot_part, _, secret = token.partition(":")
    return f"{bot_part}:…{secret[-4:]}"
