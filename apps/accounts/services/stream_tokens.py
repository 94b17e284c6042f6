"""Stream tokens: short-lived, signed permission to open one session's stream from a browser.

``EventSource`` and the browser's ``WebSocket`` cannot send an ``Authorization`` header, and an API key
must never appear in a URL (URLs end up in access logs, browser history and proxies). An integrator's
backend therefore mints a token for one session with its key and hands it to the page, which opens the
stream with ``?token=``. The token is signed with the project's secret (``django.core.signing`` under its
own salt), names the app, the session and the kind of stream, and is valid for
``STREAM_TOKEN_TTL_SECONDS``. Nothing is stored: revoking the key that minted a token does not cut it
short, the short lifetime does. Checking one is ``selectors.stream_token_app``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing

from apps.accounts.models import App
from apps.accounts.selectors import STREAM_TOKEN_SALT, StreamKind
from apps.core import clock


@dataclass(frozen=True)
class IssuedStreamToken:
    token: str
    expires_at: datetime


def stream_token_issue(*, app: App, session_id: str, kind: StreamKind) -> IssuedStreamToken:
    """A token that opens the ``kind`` stream of ``session_id`` (which the caller has checked is ``app``'s)."""
    token = signing.dumps({"app": app.id, "session": session_id, "kind": kind}, salt=STREAM_TOKEN_SALT)
    return IssuedStreamToken(token, clock.now() + timedelta(seconds=settings.STREAM_TOKEN_TTL_SECONDS))
