"""The resource limits against a real server: the Procfile's ``web`` line (uvicorn with uvloop and httptools) on
loopback, two processes sharing the stream count through Redis in production mode, one process on the embedded
default.

- one key holds 20 streams at once (``STREAM_MAX_CONNECTIONS_PER_KEY``): the 21st SSE connection is refused 429
  with Retry-After, the emotion WebSocket is accepted then closed 4029, and closing one stream frees a slot;
- a body over ``REQUEST_MAX_BYTES`` is answered 413 before it is sent (a declared 3 MB) or before its end (a
  chunked body that never ends), the connection is closed after the answer, and the server goes on serving.

The same limits in-process, on every route and surface, are in ``tests/test_resource_limits.py``.
"""

import asyncio
import json
import os
import select
import socket
from collections.abc import Iterator

import aiohttp
import pytest
from django.conf import settings
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.core.stream_leases import stream_leases_reset
from apps.personas import services as persona_services
from tests.chaos.harness import procfile_line
from tests.live import BIN, PRODUCTION, LiveStack, _base_env, free_port

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

STREAMS = 20  # the default STREAM_MAX_CONNECTIONS_PER_KEY
DEADLINE = 20.0  # bounds a hang; nothing here is timed


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """The Procfile's web line on a free loopback port: two uvicorn processes with Redis, one without."""
    port = free_port()
    stack = LiveStack(env=_base_env({"SSE_HEARTBEAT_SECONDS": "1"}))
    stack.base_url = f"http://127.0.0.1:{port}"
    extra = {"PORT": str(port), "WEB_CONCURRENCY": "2" if PRODUCTION else "1", "PATH": f"{BIN}:{os.environ['PATH']}"}
    try:
        with django_db_blocker.unblock():
            server = stack._spawn("uvicorn", ["bash", "-c", f"exec {procfile_line('web')}"], extra)
            stack.await_http(server)
        yield stack
    finally:
        stack.stop()


def _tenant(name: str) -> tuple[str, str, str]:
    """A key, a native session and an emotion persona session of a new app."""
    stream_leases_reset()
    app = accounts_services.app_create(name=name)
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    with transaction.atomic():
        character_publish(app, slug="luna")
        session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="u1")
    persona = persona_services.persona_session_create(app=app, spec={"preset": "cheerful_companion"})
    return key, session.id, persona.id


async def _open_sse(http: aiohttp.ClientSession, url: str, key: str) -> aiohttp.ClientResponse:
    return await http.get(url, headers={"Accept": "text/event-stream", "Authorization": f"Bearer {key}"})


async def _socket_answer(base_url: str, persona_id: str, key: str) -> tuple[list[dict], int | None]:
    """The emotion WebSocket's first frames until ``connected`` or a close: (frames, close code or None)."""
    url = base_url.replace("http://", "ws://") + f"/emotion/v1/ws/{persona_id}"
    frames: list[dict] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers={"Authorization": f"Bearer {key}"}) as socket_,
    ):
        async for message in socket_:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frames.append(json.loads(message.data))
            if frames[-1]["type"] == "connected":
                return frames, None
        return frames, socket_.close_code


def test_one_key_holds_twenty_streams_the_next_sse_is_429_and_the_socket_4029_until_one_closes(web):
    key, session_id, persona_id = _tenant("live streams")
    url = f"{web.base_url}/v1/sessions/{session_id}/events/stream"

    async def scenario():
        async with asyncio.timeout(DEADLINE), aiohttp.ClientSession() as http:
            # twenty-one at once from one key: exactly one is refused, whichever process each reached
            answers = await asyncio.gather(*(_open_sse(http, url, key) for _ in range(STREAMS + 1)))
            opened = [answer for answer in answers if answer.status == 200]
            refused = [answer for answer in answers if answer.status != 200]
            assert (len(opened), [answer.status for answer in refused]) == (STREAMS, [429])
            assert int(refused[0].headers["Retry-After"]) >= 1
            assert (await refused[0].json())["detail"]["code"] == "too_many_streams"
            for stream in opened:  # each one is a live event stream: its first line arrives
                assert stream.headers["Content-Type"].startswith("text/event-stream")
                assert (await stream.content.readline()).startswith(b"retry:")

            # the WebSocket counts among the key's streams: accepted, told why, closed 4029
            frames, close_code = await _socket_answer(web.base_url, persona_id, key)
            assert close_code == 4029
            assert frames[-1]["error"]["code"] == "RATE_LIMIT" and frames[-1]["error"]["status"] == 429

            # one stream closed by its client: its slot is free for the next stream, on any process
            opened.pop().close()

            async def reopened() -> aiohttp.ClientResponse:
                while True:
                    answer = await _open_sse(http, url, key)
                    if answer.status == 200:
                        return answer
                    assert answer.status == 429
                    answer.close()
                    await asyncio.sleep(0.1)

            opened.append(await reopened())
            again = await _open_sse(http, url, key)
            assert again.status == 429  # full again
            again.close()
            opened.pop().close()
            for _ in range(50):  # the freed slot lets the socket in too
                frames, close_code = await _socket_answer(web.base_url, persona_id, key)
                if close_code is None:
                    break
                await asyncio.sleep(0.1)
            assert frames[-1] == {"type": "connected", "session_id": persona_id}
            for stream in opened:
                stream.close()

    asyncio.run(scenario())


def _raw_post(base_url: str, headers: list[str], body_chunks: Iterator[bytes]) -> tuple[bytes, int, bool]:
    """POST over a raw socket: send the head, then body chunks until the server answers; (the answer as read up to
    the server's close, body bytes sent, whether the close was clean: a FIN, not a reset)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=DEADLINE) as sock:
        sock.sendall(("\r\n".join(["POST /v1/sessions HTTP/1.1", f"Host: {host}", *headers]) + "\r\n\r\n").encode())
        sent = 0
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the body was all sent
            sock.sendall(chunk)
            sent += len(chunk)
        answer, clean = b"", True
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            clean = False
        return answer, sent, clean


def _status_and_body(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    headers = {name.lower(): value for name, value in headers.items()}
    assert len(body) == int(headers["content-length"])  # the whole answer came before the close
    return int(lines[0].split()[1]), headers, json.loads(body)


def _healthy(web: LiveStack, key: str) -> None:
    response = web.client(key).get("/v1/sessions")
    assert response.status == 200, response.body


def test_a_declared_3mb_body_is_refused_413_before_a_byte_of_it_is_sent(web):
    key, _, _ = _tenant("live declared body")
    head = [
        f"Authorization: Bearer {key}",
        "Content-Type: application/json",
        f"Content-Length: {3 * 1024 * 1024}",
        "Expect: 100-continue",  # the client waits for a go-ahead that never comes (curl does this)
    ]
    answer, sent, clean = _raw_post(web.base_url, head, iter(()))  # the head only: the body is never sent
    assert answer.startswith(b"HTTP/1.1 413 ")  # the refusal, with no "100 Continue" before it
    status, headers, body = _status_and_body(answer)
    assert (status, body["detail"]["code"], sent) == (413, "payload_too_large", 0)
    assert headers["connection"] == "close" and clean  # answered, then closed by the server with a FIN
    _healthy(web, key)


def test_a_chunked_body_that_never_ends_is_refused_413_once_past_the_limit(web):
    key, _, _ = _tenant("live chunked body")
    head = [f"Authorization: Bearer {key}", "Content-Type: application/json", "Transfer-Encoding: chunked"]
    piece = b"x" * (16 * 1024)
    # Chunks up to a little past the limit, and never the last (empty) chunk: a server that waited for the end of
    # the body would never answer.
    past_limit = settings.REQUEST_MAX_BYTES // len(piece) + 2
    chunks = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(past_limit))
    answer, sent, clean = _raw_post(web.base_url, head, chunks)
    status, headers, body = _status_and_body(answer)
    assert (status, body["detail"]["code"]) == (413, "payload_too_large")
    assert headers["connection"] == "close" and clean
    assert settings.REQUEST_MAX_BYTES < sent < 2 * settings.REQUEST_MAX_BYTES
    _healthy(web, key)
