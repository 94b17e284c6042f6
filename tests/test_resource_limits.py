"""Every resource limit (OWASP API4), crossed on every surface: status, the surface's error shape and code, and
nothing written. The list is the "Limits" table of docs/guarantees.md.

- request bodies: every POST route of every surface (walked from the URL conf) refuses a 3 MB body with 413
  before anything parses it; the ASGI handlers refuse a declared length unread and cut off a chunked body;
- page sizes: in ``tests/test_page_sizes.py``; image sizes: in ``apps/api/native/tests/test_image_limits.py``;
- message length on every surface;
- open streams per API key: the native SSE, NPC ``message/stream``, studio and OpenAI ``stream: true``;
- unanswered turns per session and per app: native, studio and the OpenAI door.

The emotion WebSocket's stream limit is in ``apps/api/emotion/tests/test_socket.py``; the same limits against
a real server (concurrent SSE connections, a WebSocket, declared and chunked bodies) in
``tests/test_live_resource_limits.py``.
"""

import asyncio
import json
import re

import pytest
import rest_framework
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts import services as accounts_services
from apps.api.native.tests.contract import row_counts
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.models import Run
from apps.core import clock
from apps.core.handlers import ApiASGIHandler, BoundedBodyASGIHandler
from apps.core.stream_leases import stream_lease_acquire, stream_leases_held, stream_leases_reset
from apps.personas import services as persona_services

pytestmark = pytest.mark.django_db
THREE_MB = 3 * 1024 * 1024

# Each surface's 413 / 429, reduced to (status, code) from its own error shape.
SHAPES = {
    "native": lambda body: body["detail"]["code"],
    "emotion": lambda body: body["error"]["code"],
    "npc": lambda body: body["error"]["code"],
    "openai": lambda body: body["error"]["code"],
    "studio": lambda body: body["error"],  # the seed's bare {"error": "<message>"}
}
PREFIXES = {"/emotion/v1/": "emotion", "/npc/": "npc", "/studio/": "studio", "/openai/": "openai", "/v1/": "native"}


def _surface(path: str) -> str:
    return next(surface for prefix, surface in PREFIXES.items() if path.startswith(prefix))


def _routes(patterns=None, prefix: str = "") -> list[str]:
    """Every concrete path of the URL conf under the API surfaces, with ``x`` for each parameter."""
    found = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            path = "/" + re.sub(r"<[^>]+>", "x", text).replace("\\", "")
            if path.startswith(tuple(PREFIXES)) and not re.search(r"[(*+?\[]", path):
                found.append(path)
    return sorted(set(found))


def _tenant(name: str = "limits app"):
    app = accounts_services.app_create(name=name)
    issued = accounts_services.api_key_create(app=app, name="limits")
    return app, issued.raw_key, issued.api_key


def _session(app, slug: str = "luna") -> str:
    with transaction.atomic():
        character_publish(app, slug=slug)
        return conversation_services.session_create(app=app, character_slug=slug, external_user_ref="user_1").id


# --- request body size -------------------------------------------------------------------------------------


def test_the_drf_in_use_checks_body_size_on_request_data():
    # DRF before 3.17.2 read JSON bodies past DATA_UPLOAD_MAX_MEMORY_SIZE (CVE-2026-73228).
    assert tuple(int(part) for part in rest_framework.VERSION.split(".")[:3]) >= (3, 17, 2)


@pytest.mark.parametrize("path", [path for path in _routes() if not re.search(r"visual-assets$|import$", path)])
def test_a_3mb_body_is_refused_413_unparsed_in_the_surface_shape(path):
    # given a key, and a body that is not even JSON: parsing it would be a 400/422, not a 413
    _, key, _ = _tenant()
    before = row_counts()
    response = Client().generic(
        "POST",
        path,
        b"{" + b"x" * THREE_MB,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_API_KEY=key,
    )
    surface = _surface(path)
    assert response.status_code == 413, (path, response.content[:200])
    code = SHAPES[surface](response.json())
    if surface == "studio":
        assert "limit is" in code
    else:
        assert code == ("PAYLOAD_TOO_LARGE" if surface == "emotion" else "payload_too_large")
    assert row_counts() == before


def test_the_routes_walk_covers_every_surface():
    assert {_surface(path) for path in _routes()} == set(SHAPES)
    assert len(_routes()) > 60


@pytest.mark.parametrize("path", ["/v1/characters/x/visual-assets", "/v1/characters/import"])
def test_upload_routes_take_a_picture_but_not_more_than_the_upload_limit(path, settings):
    settings.UPLOAD_REQUEST_MAX_BYTES = 1024 * 1024
    _, key, _ = _tenant()
    before = row_counts()
    response = Client().generic(
        "POST",
        path,
        b"x" * (1024 * 1024 + 1),
        content_type="multipart/form-data; boundary=b",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 413 and response.json()["detail"]["code"] == "payload_too_large"
    assert row_counts() == before


async def _asgi_post(handler, path: str, chunks: list[bytes], *, length: int | None) -> tuple[int, dict, int]:
    """POST ``chunks`` to ``handler`` as a server would; (status, JSON body, chunks the handler received)."""
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    taken = 0
    sent: list[dict] = []

    async def receive():
        nonlocal taken
        if taken < len(chunks):
            taken += 1
            return {"type": "http.request", "body": chunks[taken - 1], "more_body": True}
        await asyncio.sleep(3600)  # a client still sending: the handler must not wait for the end

    async def send(message):
        sent.append(message)

    await asyncio.wait_for(handler(scope, receive, send), timeout=10)
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return status, json.loads(body), taken


@pytest.mark.parametrize(
    "handler_class, path, code",
    [
        (ApiASGIHandler, "/v1/sessions", lambda body: body["detail"]["code"]),
        (ApiASGIHandler, "/openai/v1/chat/completions", lambda body: body["error"]["code"]),
        (BoundedBodyASGIHandler, "/npc/api/v1/personas", lambda body: body["error"]["code"]),
    ],
)
def test_the_asgi_handlers_refuse_big_bodies_before_receiving_them(handler_class, path, code, settings):
    handler = handler_class()
    chunk = b"x" * (64 * 1024)
    # a declared length over the limit: answered without receiving one byte
    status, body, taken = asyncio.run(_asgi_post(handler, path, [chunk] * 48, length=THREE_MB))
    assert (status, code(body), taken) == (413, "payload_too_large", 0)
    # chunked (no length): cut off at the first chunk past the limit, the rest never received
    status, body, taken = asyncio.run(_asgi_post(handler, path, [chunk] * 48, length=None))
    assert (status, code(body)) == (413, "payload_too_large")
    assert taken == settings.REQUEST_MAX_BYTES // len(chunk) + 1


# --- open streams per API key ------------------------------------------------------------------------------


@pytest.fixture
def stream_limit(settings):
    settings.STREAM_MAX_CONNECTIONS_PER_KEY = 2
    stream_leases_reset()
    yield 2
    stream_leases_reset()


def _fill(owner: str, count: int):
    return [stream_lease_acquire(owner=owner) for _ in range(count)]


def test_leases_count_per_owner_lapse_and_free_up(stream_limit, settings):
    held = _fill("key:a", 2)
    assert stream_leases_held(owner="key:a") == 2
    with pytest.raises(Exception) as refused:
        stream_lease_acquire(owner="key:a")
    assert refused.value.code == "too_many_streams" and refused.value.status == 429
    assert stream_lease_acquire(owner="key:b")  # another key has its own count
    held[0].release()
    third = stream_lease_acquire(owner="key:a")  # a released slot is free again
    # a crashed process's lease is never released: it lapses
    settings.STREAM_LEASE_SECONDS = 0.05
    held[1].refresh(force=True)
    third.refresh(force=True)
    asyncio.run(asyncio.sleep(0.1))
    assert stream_leases_held(owner="key:a") == 0
    _fill("key:a", 2)


HI = [{"role": "user", "content": "hi"}]
STREAMS = [
    ("native", "GET", "/v1/sessions/{session}/events/stream", None),
    ("npc", "POST", "/npc/api/v1/sdk/chat/x/message/stream", {"user_session_id": "p1", "message": "hi"}),
    ("studio", "POST", "/studio/api/v1/conversations/{session}/messages", {"content": "hi", "stream": True}),
    ("studio", "POST", "/studio/api/v1/completions", {"messages": HI, "llm_id": "scripted", "stream": True}),
    (
        "openai",
        "POST",
        "/openai/v1/chat/completions",
        {"model": "character:luna", "stream": True, "messages": HI},
    ),
]


def _open_stream(method: str, path: str, body: dict | None, key: str):
    return Client().generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_API_KEY=key,
        HTTP_ACCEPT="text/event-stream",
    )


@pytest.mark.parametrize("surface, method, path, body", STREAMS)
def test_one_stream_past_the_limit_is_refused_429_before_it_starts(surface, method, path, body, stream_limit):
    # given a key that already holds its two streams (the leases any web process would have taken)
    app, key, api_key = _tenant()
    session_id = _session(app)
    held = _fill(f"key:{api_key.pk}", stream_limit)
    before = row_counts()
    response = _open_stream(method, path.format(session=session_id), body, key)
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) >= 1
    code = SHAPES[surface](json.loads(response.content))  # an error before the stream is JSON, as any error
    assert code == {"openai": "too_many_streams", "native": "too_many_streams", "npc": "too_many_streams"}.get(
        surface, code
    )
    if surface == "studio":
        assert "STREAM_MAX_CONNECTIONS_PER_KEY" in code
    assert row_counts() == before  # no message accepted, no run, no event
    assert stream_leases_held(owner=f"key:{api_key.pk}") == stream_limit
    held[0].release()
    # a slot freed: the same stream opens, and gives its lease back when it ends
    if surface != "npc":  # the NPC route needs an authored scenario to answer; its refusal is what is tested
        response = _open_stream(method, path.format(session=session_id), body, key)
        assert response.status_code in (200, 201)
        if surface != "native":  # the native stream lives for SSE_MAX_SECONDS
            b"".join(response.streaming_content)
            response.close()
            assert stream_leases_held(owner=f"key:{api_key.pk}") == stream_limit - 1


# --- unanswered turns --------------------------------------------------------------------------------------


def _pending(session_id: str, count: int) -> None:
    Run.objects.bulk_create(
        Run(session_id=session_id, trigger_cursor=0, available_at=clock.now(), status=Run.Status.QUEUED)
        for _ in range(count)
    )


SENDS = [
    ("native", "/v1/sessions/{session}/messages", {"text": "hi"}),
    ("studio", "/studio/api/v1/conversations/{session}/messages", {"content": "hi"}),
]


@pytest.mark.parametrize("surface, path, body", SENDS)
@pytest.mark.parametrize("over", ["session", "app"])
def test_a_message_past_the_unanswered_turns_limit_is_refused_and_writes_nothing(surface, path, body, over, settings):
    settings.TURNS_MAX_PENDING_PER_SESSION, settings.TURNS_MAX_PENDING_PER_APP = 3, 5
    app, key, _ = _tenant()
    session_id = _session(app)
    if over == "session":
        _pending(session_id, 3)
    else:  # the app's other sessions hold its five
        other = _session(app, slug="mira")
        _pending(other, 5)
    before = row_counts()
    response = Client().post(
        path.format(session=session_id),
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 429, response.content[:300]
    assert response["Retry-After"] == "2"
    code = SHAPES[surface](response.json())
    assert code == "too_many_pending_turns" if surface == "native" else "TURNS_MAX_PENDING_PER" in code
    assert row_counts() == before  # no event, no run, no idempotency record, no quota used
    # one answered: the next message is accepted
    Run.objects.filter(pk=Run.objects.filter(status=Run.Status.QUEUED).values("pk")[:1]).update(
        status=Run.Status.SUCCEEDED
    )
    response = Client().post(
        path.format(session=session_id), body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code in (200, 201, 202), response.content[:300]


def test_the_openai_door_refuses_a_turn_past_the_apps_limit_in_openais_shape(settings):
    settings.TURNS_MAX_PENDING_PER_APP = 1
    app, key, _ = _tenant()
    _pending(_session(app), 1)
    before = row_counts()
    response = Client().post(
        "/openai/v1/chat/completions",
        {"model": "character:luna", "messages": [{"role": "user", "content": "hi"}], "user": "u2"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 429, response.content[:300]
    assert response.json()["error"]["code"] == "too_many_pending_turns" and response["Retry-After"] == "2"
    # the door's own end-user session may be created on the way in; no message, run or event is
    counts = row_counts()
    assert {name: counts[name] for name in ("Run", "Event", "session_cursors")} == {
        name: before[name] for name in ("Run", "Event", "session_cursors")
    }


# --- message length ----------------------------------------------------------------------------------------

LONG = "x" * 8001  # MESSAGE_MAX_CHARS (8000) + 1; the serializers read the setting when they are defined
MESSAGES = [
    ("native", "/v1/sessions/{session}/messages", {"text": LONG}, 422, "validation_error"),
    ("emotion", "/emotion/v1/turn", {"sessionId": "{persona}", "message": LONG}, 400, "VALIDATION_ERROR"),
    ("studio", "/studio/api/v1/conversations/{session}/messages", {"content": LONG}, 400, None),
    (
        "openai",
        "/openai/v1/chat/completions",
        # with ``user`` the call is a turn of that end-user's session; without, a stateless completion
        {"model": "character:luna", "user": "u1", "messages": [{"role": "user", "content": LONG}]},
        400,
        "invalid_value",
    ),
    # the NPC surface keeps Foil's own 4000
    ("npc", "/npc/api/v1/sdk/chat/x/message", {"user_session_id": "p1", "message": "x" * 4001}, 400, "bad_request"),
]


@pytest.mark.parametrize("surface, path, body, status, code", MESSAGES)
def test_a_message_one_character_too_long_is_refused_in_the_surface_shape(surface, path, body, status, code):
    app, key, _ = _tenant()
    session_id = _session(app)
    persona_id = persona_services.persona_session_create(app=app, spec={"preset": "cheerful_companion"}).id
    body = json.loads(json.dumps(body).replace("{persona}", persona_id))
    before = row_counts()
    response = Client().post(
        path.format(session=session_id),
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == status, response.content[:300]
    got = SHAPES[surface](response.json())
    assert got == code if code is not None else "8000" in got
    assert row_counts() == before
