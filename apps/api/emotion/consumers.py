"""``/emotion/v1/ws/{sessionId}``: turns in, state and proactive actions out (molroo's WebSocket).

Who may connect (``apps.api.shared.authentication.stream_caller``): a server or SDK sends its API key in the
handshake's ``Authorization: Bearer <key>`` header; a browser, which cannot set headers on a WebSocket,
passes ``?token=<stream token>`` minted for this session by ``POST /emotion/v1/persona/{id}/stream-token``;
a signed-in superuser's admin session also opens it (as their playground app). molroo's own clients put the
API key itself in ``?token=``; that still works here, so they need only the new base URL, but a key in a URL
ends up in logs and proxies, so new clients should use the header or a stream token.

Client messages (JSON with a ``type``):

- ``{"type": "turn", "message": ...}`` or the full form (``event``, ``elapsedSeconds``, ``event_context``)
  -> ``{"type": "turn_result", "data": <the POST /turn body>}``
- ``{"type": "appraisal", "appraisal": {...}, "context"?, "elapsedSeconds"?}`` -> ``turn_result``
- ``{"type": "ack", "action_id": ...}`` marks a proactive action handled -> ``{"type": "ack", "action_id"}``
- ``{"type": "ping"}`` -> ``{"type": "pong"}``

Server pushes: ``connected`` (on connect), ``missed_proactive`` (pending actions on connect), ``proactive``
(a new action), ``state_update`` (a turn made elsewhere: REST or another socket), ``stage_transition`` and
``emotional_overflow``. A bad message gets ``{"type": "error", "error": {code, status, message}}`` and the
socket stays open; a bad key or session closes it with 4001 / 4004 after that error frame. A caller that already
holds ``STREAM_MAX_CONNECTIONS_PER_KEY`` open streams gets a ``RATE_LIMIT`` error frame, then close code 4029
(HTTP's 429 in the private 4000-4999 range, the way 4001 and 4004 mirror 401 and 404).
"""

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework.exceptions import ValidationError

from apps.api.emotion import presenters
from apps.api.emotion.errors import render_error
from apps.api.emotion.serializers import AppraisalTurnInput, TurnInput
from apps.api.shared.authentication import stream_caller
from apps.api.shared.validation import validated
from apps.core.errors import ApplicationError, ValidationFailed
from apps.core.stream_leases import StreamLease, stream_lease_acquire
from apps.delivery import selectors as delivery_selectors
from apps.delivery import services as delivery_services
from apps.personas import selectors, services

CLOSE_UNAUTHORIZED = 4001
CLOSE_NOT_FOUND = 4004
CLOSE_TOO_MANY_STREAMS = 4029
PUSHED_TYPES = {
    "proactive_action": "proactive",
    "stage_transition": "stage_transition",
    "emotional_overflow": "emotional_overflow",
    "turn_result": "state_update",
}


def _authenticate(scope, session_id: str):
    headers = dict(scope.get("headers", []))
    caller = stream_caller(
        authorization=headers.get(b"authorization", b"").decode("latin-1"),
        token=parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0],
        user=scope.get("user"),  # set by channels' AuthMiddlewareStack from the admin's session cookie
        session_id=session_id,
        kind="persona",
        key_in_url=True,  # molroo's clients pass their key as ?token=; browsers should mint a stream token
    )
    session = selectors.persona_session_get(app=caller.app, session_id=session_id)
    pending = [presenters.proactive_action(action) for action in selectors.proactive_pending(session=session)]
    lease = stream_lease_acquire(owner=caller.owner)  # last: a refused key or session holds no lease
    return caller.app, pending, lease


async def _lease_keep(lease: StreamLease) -> None:
    """Keeps the socket's lease fresh for as long as the socket is open (cancelled on disconnect)."""
    refresh = database_sync_to_async(lease.refresh)
    while True:
        await asyncio.sleep(settings.STREAM_LEASE_SECONDS / 3)
        await refresh(force=True)


class EmotionSocket(AsyncJsonWebsocketConsumer):
    app = None
    lease: StreamLease | None = None
    lease_keeper: asyncio.Task | None = None

    async def connect(self) -> None:
        self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        await self.accept()
        try:
            self.app, pending, self.lease = await database_sync_to_async(_authenticate)(self.scope, self.session_id)
        except ApplicationError as exc:
            body, status, _ = render_error(exc)
            await self.send_json({"type": "error", **body})
            close_codes = {401: CLOSE_UNAUTHORIZED, 429: CLOSE_TOO_MANY_STREAMS}
            await self.close(code=close_codes.get(status, CLOSE_NOT_FOUND))
            return
        self.lease_keeper = asyncio.ensure_future(_lease_keep(self.lease))
        delivery_services.server_loop_remember(asyncio.get_running_loop())
        await self.channel_layer.group_add(delivery_selectors.persona_group(self.session_id), self.channel_name)
        await self.send_json({"type": "connected", "session_id": self.session_id})
        if pending:
            await self.send_json({"type": "missed_proactive", "data": pending})

    async def disconnect(self, code) -> None:
        if self.lease_keeper is not None:
            self.lease_keeper.cancel()
        if self.lease is not None:
            await database_sync_to_async(self.lease.release)()
        if self.app is not None:
            await self.channel_layer.group_discard(delivery_selectors.persona_group(self.session_id), self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if self.app is None:
            return
        try:
            await self._handle(content)
        except (ApplicationError, ValidationError) as exc:
            body, _, _ = render_error(exc)
            await self.send_json({"type": "error", **body})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return {"type": None, "_invalid_json": True}

    async def _handle(self, content) -> None:
        if not isinstance(content, dict) or content.get("_invalid_json"):
            raise ValidationFailed({"body": ["Each message must be a JSON object with a 'type'."]})
        kind = content.get("type")
        fields = {key: value for key, value in content.items() if key != "type"}
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "turn":
            data = validated(TurnInput, {**fields, "sessionId": self.session_id})
            event = data.get("event")
            result = await database_sync_to_async(services.persona_turn)(
                app=self.app,
                session_id=self.session_id,
                user_ref=data.get("userId", ""),
                message=event["description"] if event else data["message"],
                source=event["source"] if event else "user",
                elapsed_seconds=data.get("elapsedSeconds"),
                context=data.get("event_context", ""),
                origin=self.channel_name,
            )
            await self.send_json({"type": "turn_result", "data": presenters.turn_result(result)})
        elif kind == "appraisal":
            data = validated(AppraisalTurnInput, {**fields, "sessionId": self.session_id})
            result = await database_sync_to_async(services.persona_turn)(
                app=self.app,
                session_id=self.session_id,
                user_ref=data.get("userId", ""),
                appraisal=data["appraisal"],
                elapsed_seconds=data.get("elapsedSeconds"),
                context=data.get("context", ""),
                origin=self.channel_name,
            )
            await self.send_json({"type": "turn_result", "data": presenters.turn_result(result)})
        elif kind == "ack":
            action_id = fields.get("action_id")
            if not isinstance(action_id, str) or not action_id:
                raise ValidationFailed({"action_id": ["The id of the proactive action to acknowledge."]})
            await database_sync_to_async(services.proactive_action_acknowledge)(
                app=self.app, session_id=self.session_id, action_id=action_id
            )
            await self.send_json({"type": "ack", "action_id": action_id})
        else:
            raise ValidationFailed({"type": ["One of turn, appraisal, ack, ping."]})

    async def persona_events(self, message) -> None:
        """A commit's events for this session (from ``PersonaSocketSink``)."""
        for event in message["events"]:
            kind = PUSHED_TYPES.get(event["type"])
            if kind is None or (event["type"] == "turn_result" and event.get("origin") == self.channel_name):
                continue
            await self.send_json({"type": kind, "data": event["data"]})
