"""The event stream (SSE) and concurrent sends, over real HTTP against the running system.

In production mode the web process gets a database pool no larger than the number of streams the
concurrency test keeps open, so a stream that held on to a connection between reads would starve the
sends (they would fail with 500 after the pool's timeout).
"""

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp
import pytest
from django.db import connection, transaction

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from tests.live import live_stack, live_stack_factory  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Twenty sends race on one session: more unanswered turns than the default limit allows at once.
LIVE_ENV = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "3", "TURNS_MAX_PENDING_PER_SESSION": "50"}
STREAM_DEADLINE = 30.0  # bounds a broken stream; not a timed assertion


@dataclass
class Stream:
    """What one SSE connection received: frames with ``id``/``data``, comment lines, and whether it ended."""

    status: int
    frames: list[dict] = field(default_factory=list)
    named: list[dict] = field(default_factory=list)  # frames with an ``event:`` line, which onmessage never sees
    comments: list[str] = field(default_factory=list)
    retry: str | None = None
    ended: bool = False
    error: dict | None = None

    @property
    def cursors(self) -> list[int]:
        return [frame["id"] for frame in self.frames]

    @property
    def events(self) -> list[dict]:
        return [frame["data"] for frame in self.frames]

    def replies(self) -> list[dict]:
        return [e for e in self.events if e["event_type"] == "message.created" and e["role"] == "character"]


async def stream_read(
    base_url: str,
    session_id: str,
    key: str,
    *,
    until: Callable[[Stream], bool] = lambda stream: False,
    query: str = "",
    headers: dict[str, str] | None = None,
    connected: asyncio.Event | None = None,
) -> Stream:
    """Read ``/events/stream`` until ``until(stream)`` holds or the server ends the response."""
    url = f"{base_url}/v1/sessions/{session_id}/events/stream{query}"
    request_headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {key}"} if key else {})}
    async with (
        asyncio.timeout(STREAM_DEADLINE),
        aiohttp.ClientSession() as http,
        http.get(url, headers={**request_headers, **(headers or {})}) as response,
    ):
        stream = Stream(response.status)
        if response.status != 200:
            stream.error = await response.json()
            return stream
        assert response.headers["Content-Type"].startswith("text/event-stream")
        frame: dict = {}
        while True:
            raw = await response.content.readline()
            if not raw:
                stream.ended = True
                return stream
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                stream.comments.append(line[1:].strip())
                if connected is not None and line.startswith(": connected"):
                    connected.set()
            elif line.startswith("retry:"):
                stream.retry = line.partition(":")[2].strip()
            elif line.startswith("event:"):
                frame["event"] = line.partition(":")[2].strip()
            elif line.startswith("id:"):
                frame["id"] = int(line.partition(":")[2])
            elif line.startswith("data:"):
                frame["data"] = json.loads(line.partition(":")[2])
            elif line == "" and frame and "event" in frame:
                # EventSource hands a named event to its listeners only, not to onmessage, and keeps its
                # last event id: a client that ignores deltas sees the log's stream as it was
                assert "id" not in frame, frame
                frame["after"] = len(stream.frames)
                stream.named.append(frame)
                frame = {}
            elif line == "" and frame:
                assert frame["id"] == frame["data"]["cursor"], frame
                stream.frames.append(frame)
                frame = {}
                if until(stream):
                    return stream


def _tenant(name: str = "live app") -> str:
    app = accounts_services.app_create(name=name)
    return accounts_services.api_key_create(app=app, name="live").raw_key, app


def _session(app, **character_fields) -> str:
    with transaction.atomic():
        character_publish(app, slug="luna", **character_fields)
        return services.session_create(app=app, character_slug="luna", external_user_ref="user_1").id


def test_stream_delivers_the_reply_live_with_cursor_ids_and_resumes(live_stack):  # noqa: F811
    # given a session whose greeting is already in the log
    key, app = _tenant()
    session_id = _session(app, greeting="Hi, I'm Luna.")
    client = live_stack.client(key)

    async def scenario():
        # when a stream is open and the user sends a message
        connected = asyncio.Event()
        reading = asyncio.create_task(
            stream_read(
                live_stack.base_url,
                session_id,
                key,
                until=lambda s: any(e["event_type"] == "emotion.updated" for e in s.events),
                connected=connected,
            )
        )
        await connected.wait()
        sent = await asyncio.to_thread(client.post, f"/v1/sessions/{session_id}/messages", {"text": "hello there"})
        return sent, await reading

    sent, stream = asyncio.run(scenario())
    # then the stream carries the backlog and then the turn live, each frame's id being its cursor
    assert sent.status == 202, sent.body
    assert stream.status == 200 and stream.retry == "2000"
    assert stream.cursors == [1, 2, 3, 4, 5]
    assert [(e["event_type"], e["role"]) for e in stream.events] == [
        ("character.initiated", "character"),
        ("message.created", "user"),
        ("run.status", None),
        ("message.created", "character"),
        ("emotion.updated", "character"),
    ]
    # and it carries exactly what polling returns
    assert stream.events == client.events(session_id)

    # a reconnect with Last-Event-ID (EventSource keeps the URL's since=0) gets only the newer events
    resumed = asyncio.run(
        stream_read(
            live_stack.base_url,
            session_id,
            key,
            query="?since=0",
            headers={"Last-Event-ID": "2"},
            until=lambda s: s.cursors[-1] == 4,
        )
    )
    assert resumed.cursors == [3, 4]
    # and ?since= resumes the same way
    since = asyncio.run(
        stream_read(live_stack.base_url, session_id, key, query="?since=3", until=lambda s: s.cursors[-1] == 4)
    )
    assert since.cursors == [4]


def test_a_reply_streams_as_message_delta_frames_before_its_message_created(live_stack):  # noqa: F811
    key, app = _tenant()
    session_id = _session(app)
    client = live_stack.client(key)

    def replied(stream: Stream) -> bool:
        return bool(stream.replies())

    async def scenario():
        connected, quiet_connected = asyncio.Event(), asyncio.Event()
        streams = [
            asyncio.create_task(stream_read(live_stack.base_url, session_id, key, until=replied, connected=connected)),
            asyncio.create_task(
                stream_read(
                    live_stack.base_url,
                    session_id,
                    key,
                    until=replied,
                    query="?deltas=false",
                    connected=quiet_connected,
                )
            ),
        ]
        await connected.wait()
        await quiet_connected.wait()
        text = "tell me about your favourite places in the city and why you love them"
        sent = await asyncio.to_thread(client.post, f"/v1/sessions/{session_id}/messages", {"text": text})
        return sent, await asyncio.gather(*streams)

    sent, (stream, quiet) = asyncio.run(scenario())
    assert sent.status == 202, sent.body
    [reply] = stream.replies()
    deltas = [frame for frame in stream.named if frame["event"] == "message.delta"]
    assert deltas and len(deltas) == len(stream.named)
    assert [frame["data"]["index"] for frame in deltas] == list(range(len(deltas)))
    assert {frame["data"]["run_ref"] for frame in deltas} == {sent.data["run_ref"]}
    assert {(frame["data"]["type"], frame["data"]["event_type"]) for frame in deltas} == {("message.delta",) * 2}
    assert "".join(frame["data"]["text"] for frame in deltas) == reply["payload"]["text"]
    reply_position = stream.events.index(reply)
    assert all(frame["after"] <= reply_position for frame in deltas)  # all of them before the reply of record
    # the durable stream is the log, untouched: a listener without deltas sees the same frames
    assert quiet.named == [] and quiet.events == stream.events
    assert not any(event["event_type"] == "message.delta" for event in client.events(session_id))


def test_twenty_concurrent_sends_while_streams_connect(live_stack):  # noqa: F811
    # given a session with a greeting, three streams already open (as many as the web process has pooled
    # database connections in production mode) and two more that connect while twenty sends commit
    key, app = _tenant()
    session_id = _session(app, greeting="Hi, I'm Luna.")
    client = live_stack.client(key)
    sends = 20

    def send(index: int):
        return client.post(f"/v1/sessions/{session_id}/messages", {"text": f"message number {index}"})

    def all_replies(stream: Stream) -> bool:
        return len(stream.replies()) >= sends

    async def scenario():
        async def stream(delay: float = 0.0, started: asyncio.Event | None = None) -> Stream:
            await asyncio.sleep(delay)

            def done(stream: Stream) -> bool:
                if started is not None:
                    started.set()  # the greeting came from the backlog
                return all_replies(stream)

            return await stream_read(live_stack.base_url, session_id, key, until=done)

        opened = [asyncio.Event() for _ in range(3)]
        streams = [asyncio.create_task(stream(started=event)) for event in opened]
        for event in opened:
            await event.wait()
        streams += [asyncio.create_task(stream(delay)) for delay in (0.0, 0.1)]
        with ThreadPoolExecutor(max_workers=sends) as pool:  # real threads, one socket each
            sent = await asyncio.gather(*(asyncio.to_thread(pool.submit(send, i).result) for i in range(sends)))
        return sent, await asyncio.gather(*streams)

    sent, streams = asyncio.run(scenario())

    # then every send was accepted with its own cursor, turn index and run
    assert [response.status for response in sent] == [202] * sends, [r.body for r in sent if r.status != 202]
    user_cursors = sorted(response.data["cursor"] for response in sent)
    assert len(set(user_cursors)) == sends
    assert sorted(response.data["sent_turn_index"] for response in sent) == list(range(1, sends + 1))
    run_refs = {response.data["run_ref"] for response in sent}
    assert len(run_refs) == sends

    # and the log is gap-free: the greeting, then per send one user message, run.status, reply and emotion
    log = client.events(session_id)
    assert [e["cursor"] for e in log] == list(range(1, 4 * sends + 2))
    assert sorted(e["cursor"] for e in log if e["role"] == "user") == user_cursors
    replies = [e for e in log if e["event_type"] == "message.created" and e["role"] == "character"]
    assert sorted(e["payload"]["run_ref"] for e in replies) == sorted(run_refs)
    assert sorted(e["payload"]["reply_to_cursor"] for e in replies) == user_cursors
    runs = client.get(f"/v1/sessions/{session_id}/runs").data["runs"]
    assert {(run["run_ref"], run["status"], run["attempts"]) for run in runs} == {
        (run_ref, "succeeded", 1) for run_ref in run_refs
    }

    # and every stream, whenever it connected, saw each event exactly once, in cursor order
    for stream in streams:
        assert stream.cursors == list(range(1, len(stream.frames) + 1))
        assert stream.events == log[: len(stream.frames)]


def test_stream_errors_use_the_native_error_body(live_stack):  # noqa: F811
    key, app = _tenant()
    session_id = _session(app)
    other_key, _ = _tenant("other app")
    base = live_stack.base_url

    async def scenario():
        return await asyncio.gather(
            stream_read(base, session_id, ""),
            stream_read(base, session_id, "not-a-real-key"),
            stream_read(base, "sess_doesnotexist", key),
            stream_read(base, session_id, other_key),
            stream_read(base, session_id, key, query="?since=-1"),
        )

    missing, invalid, unknown, foreign, bad_since = asyncio.run(scenario())
    assert (missing.status, missing.error["detail"]["code"]) == (401, "missing_api_key")
    assert (invalid.status, invalid.error["detail"]["code"]) == (403, "invalid_api_key")
    assert (unknown.status, unknown.error["detail"]["code"]) == (404, "session_not_found")
    assert (foreign.status, foreign.error["detail"]["code"]) == (404, "session_not_found")  # another app's: absent
    assert bad_since.status == 422 and "since" in bad_since.error["detail"]["fields"]
    for response in (missing, invalid, unknown, foreign, bad_since):
        assert set(response.error["detail"]) >= {"code", "message", "fix"}, response.error


def test_stream_heartbeats_recovers_unannounced_events_and_closes(live_stack_factory, settings):  # noqa: F811
    # given a server with a fast heartbeat and a short stream lifetime
    stack = live_stack_factory(env={"SSE_HEARTBEAT_SECONDS": "0.2", "SSE_MAX_SECONDS": "3"}, workers=0)
    key, app = _tenant()
    session_id = _session(app)
    settings.EVENT_SINKS = []  # events this test appends are committed but never announced

    async def scenario():
        connected = asyncio.Event()
        reading = asyncio.create_task(stream_read(stack.base_url, session_id, key, connected=connected))
        await connected.wait()
        await asyncio.to_thread(_append_unannounced, session_id)
        return await reading

    stream = asyncio.run(scenario())
    # then the idle stream sent heartbeats, picked the unannounced event up from the log, and ended itself
    assert stream.comments.count("heartbeat") >= 2
    assert [(e["cursor"], e["event_type"]) for e in stream.events] == [(1, "note.test")]
    assert stream.ended and "reconnect with Last-Event-ID" in stream.comments[-1]


def _append_unannounced(session_id: str) -> None:
    from apps.conversations.services.events import NewEvent, events_append

    try:
        with transaction.atomic():
            events_append(session_id=session_id, events=[NewEvent("note.test", {"text": "quiet"})])
    finally:
        connection.close()  # this thread's own connection; left open it would keep the test database in use
