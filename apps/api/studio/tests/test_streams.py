"""``stream: true`` on messages and completions: ``delta`` frames while the model writes, then ``done`` with the
whole answer (as the request answers without ``stream``), read off a running server as real SSE frames."""

import pytest

from apps.accounts.models import UsageRecord
from apps.api.studio.tests.conftest import assert_error
from apps.api.studio.tests.sse import sse_frames
from apps.conversations.models import Event, Run

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Tell me about AI."}]


@pytest.fixture
def conversation(studio, fake_llm):
    agent = studio.post("agents", json={"name": "Ada", "sd_model_id": "builtin"}).json()
    return studio.post("conversations", json={"agent_id": agent["id"], "llm_id": "fake-chat"}).json()


def test_a_streamed_message_sends_the_reply_as_it_is_written_then_the_message(studio, conversation, fake_llm):
    body = {"content": "Hello there", "stream": True}
    with studio.stream("POST", f"conversations/{conversation['id']}/messages", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        frames = list(sse_frames(response))

    kinds = [event for event, _ in frames]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"} and len(kinds) > 2  # word by word
    done = frames[-1][1]
    assert "".join(data["content"] for _, data in frames[:-1]) == done["content"]
    assert done["role"] == "agent" and done["id"].startswith("evt_")
    listed = studio.get(f"conversations/{conversation['id']}/messages").json()
    assert listed[-1] == done  # what was streamed is what was written
    assert fake_llm.chat_requests[0].body["stream"] is True


def test_tokens_leave_while_the_model_is_still_writing(studio, conversation, fake_llm):
    fake_llm.set_mode("stream_hold", delay_seconds=10)
    body = {"content": "Hello there", "stream": True}
    with studio.stream("POST", f"conversations/{conversation['id']}/messages", json=body) as response:
        frames = sse_frames(response)
        event, first = next(frames)
        assert event == "delta" and first["content"]
        assert not Event.objects.filter(
            session_id=conversation["id"], role="character", event_type="message.created"
        ).exists()  # not yet
        fake_llm.release_streams()
        rest = list(frames)
    assert rest[-1][0] == "done"
    assert first["content"] + "".join(data["content"] for _, data in rest[:-1]) == rest[-1][1]["content"]
    assert (
        Event.objects.filter(session_id=conversation["id"], role="character", event_type="message.created").count() == 1
    )


def test_verbose_streams_put_the_thought_process_in_done(studio, conversation):
    body = {"content": "Hello", "stream": True, "verbose": True}
    with studio.stream("POST", f"conversations/{conversation['id']}/messages", json=body) as response:
        frames = list(sse_frames(response))
    assert frames[-1][0] == "done" and frames[-1][1]["thought_process"]["prompt"]


def test_a_reply_that_breaks_mid_stream_is_an_error_frame(studio, conversation, fake_llm):
    fake_llm.set_mode("stream_cut")
    body = {"content": "Hello", "stream": True}
    with studio.stream("POST", f"conversations/{conversation['id']}/messages", json=body) as response:
        frames = list(sse_frames(response))

    assert frames[0][0] == "delta" and frames[-1][0] == "error"
    assert set(frames[-1][1]) == {"error"} and frames[-1][1]["error"]
    assert not Event.objects.filter(
        session_id=conversation["id"], role="character", event_type="message.created"
    ).exists()
    assert Run.objects.get(session_id=conversation["id"]).status == "failed"


def test_what_fails_before_the_stream_is_an_ordinary_error(studio, conversation, broke):
    url = f"conversations/{conversation['id']}/messages"
    assert_error(studio.post(url, json={"content": "", "stream": True}), 400)
    assert_error(studio.post("conversations/sess_nope/messages", json={"content": "Hi", "stream": True}), 404)
    assert_error(studio.post(url, json={"content": "Hi", "stream": True}), 402)
    accept_sse = {"Accept": "text/event-stream"}  # a standard SSE client still gets the JSON error
    assert_error(studio.post(url, json={"content": "", "stream": True}, headers=accept_sse), 400)


def test_a_streamed_completion_sends_deltas_then_the_completion(studio, owner, fake_llm):
    body = {"messages": MESSAGES, "llm_id": "fake-chat", "stream": True}
    with studio.stream("POST", "completions", json=body, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        frames = list(sse_frames(response))

    assert frames[-1][0] == "done" and {event for event, _ in frames[:-1]} == {"delta"}
    done = frames[-1][1]
    assert set(done) == {"id", "content", "role", "created_at"} and done["id"].startswith("cmpl_")
    assert "".join(data["content"] for _, data in frames[:-1]) == done["content"]
    assert UsageRecord.objects.get(app=owner.api_key.app, purpose="reply").status == "settled"


def test_a_streamed_completion_over_budget_is_402_before_any_frame(studio, broke, fake_llm):
    body = {"messages": MESSAGES, "llm_id": "fake-chat", "stream": True}
    assert_error(studio.post("completions", json=body), 402)
    assert fake_llm.chat_requests == []
