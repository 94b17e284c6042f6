"""Turns run in the request's thread (``message_turn``) and stateless completions (``completion_stream``), the
pipeline the studio and OpenAI doors stand on, against the fake OpenAI-compatible server over real HTTP; and
the worker's streamed replies, whose deltas reach listeners as ephemeral ``message.delta`` frames."""

from decimal import Decimal

import pytest

from apps.accounts import services as accounts_services
from apps.accounts.errors import BudgetExceeded
from apps.accounts.models import UsageRecord
from apps.characters.errors import CharacterNotFound
from apps.conversations import services
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_metering import row_counts
from apps.llm.errors import LLMTransientError, ModelNotFound
from apps.llm.tests.factories import llm_model_create
from apps.llm.types import ChatMessage
from tests.fakes.openai_server import reply_for


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    settings.EMOTION_APPRAISER = "lexicon"


def _log(session) -> list[tuple[str, str]]:
    return list(Event.objects.filter(session=session).order_by("cursor").values_list("event_type", "role"))


def _sent_messages(request) -> list[tuple[str, str]]:
    return [(message["role"], message["content"]) for message in request.body["messages"]]


def test_a_turn_in_the_callers_thread_streams_its_reply_and_is_written_like_any_turn(owner, fake_llm, flashed):
    app = owner.api_key.app
    session = session_start(app, display_name="Luna", greeting="Hi, I'm Luna.")
    services.delta_listen(session_id=session.id)  # an event stream watches the session

    turn = services.message_turn(app=app, session_id=session.id, text="hey, what are you up to?")
    deltas = list(turn)

    [request] = fake_llm.chat_requests
    assert request.body["stream"] is True
    assert len(deltas) > 3  # word by word, as the server sent them
    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert "".join(deltas) == reply.payload["text"] == turn.reply["payload"]["text"]
    assert turn.reply["cursor"] == reply.cursor and turn.reply["payload"]["run_ref"] == turn.send.run_ref
    assert _log(session) == [
        ("character.initiated", "character"),
        ("message.created", "user"),
        ("run.status", ""),
        ("message.created", "character"),
        ("emotion.updated", "character"),
    ]
    run = Run.objects.get(pk=turn.send.run_ref)
    assert (run.status, run.model_calls, run.attempts) == ("succeeded", 1, 1)
    assert turn.usage.completion_tokens == len(reply.payload["text"].split())
    # the same deltas went to the session's listeners, coalesced, in order, never into the log
    assert [frame["index"] for frame in flashed] == list(range(len(flashed)))
    assert "".join(frame["text"] for frame in flashed) == reply.payload["text"]
    assert {frame["run_ref"] for frame in flashed} == {run.id}
    assert not Event.objects.filter(event_type="message.delta").exists()


def test_a_turn_in_the_callers_thread_streams_to_its_caller_alone_while_no_event_stream_listens(
    owner, fake_llm, flashed
):
    app = owner.api_key.app
    session = session_start(app)

    deltas = list(services.message_turn(app=app, session_id=session.id, text="hey, what are you up to?"))

    assert len(deltas) > 3 and fake_llm.chat_requests[0].body["stream"] is True
    assert flashed == []


def test_the_callers_history_replaces_the_logs_and_the_session_prompt_follows_the_sheet(owner, fake_llm):
    app = owner.api_key.app
    session = session_start(app, display_name="Luna")
    Session.objects.filter(pk=session.id).update(system_prompt="Answer in one sentence.")
    services.message_turn(app=app, session_id=session.id, text="first message in the log").run()
    fake_llm.reset()
    history = [
        ChatMessage("system", "The user is called Sam."),
        ChatMessage("user", "hello there"),
        ChatMessage("assistant", "hi Sam"),
        ChatMessage("user", "what is tea?"),
    ]

    turn = services.message_turn(app=app, session_id=session.id, text="what is tea?", history=history)
    turn.run()

    sent = _sent_messages(fake_llm.chat_requests[0])
    assert sent[0][0] == "system" and "Luna" in sent[0][1]  # the character's sheet leads
    assert sent[1] == ("system", "Answer in one sentence.")
    assert sent[-4:] == [
        ("system", "The user is called Sam."),
        ("user", "hello there"),
        ("assistant", "hi Sam"),
        ("user", "what is tea?"),
    ]
    assert all("first message in the log" not in content for _, content in sent)
    assert turn.reply["payload"]["text"] == reply_for([{"role": r, "content": c} for r, c in sent])


def test_a_turn_can_run_on_another_catalog_model_and_an_unknown_one_writes_nothing(owner, fake_llm):
    app = owner.api_key.app
    session = session_start(app)
    llm_model_create(name="other-chat", provider="openai_compatible", upstream_model="fake-chat-large")

    turn = services.message_turn(app=app, session_id=session.id, text="hello", model="other-chat")
    turn.run()

    assert fake_llm.chat_requests[0].body["model"] == "fake-chat-large"
    assert turn.model
    before = row_counts()
    with pytest.raises(ModelNotFound):
        services.message_turn(app=app, session_id=session.id, text="hello", model="no-such-model")
    assert row_counts() == before


def test_a_trace_says_what_the_prompt_was_made_of(owner, fake_llm):
    app = owner.api_key.app
    session = session_start(app, display_name="Luna")
    Session.objects.filter(pk=session.id).update(system_prompt="Be brief.")

    turn = services.message_turn(app=app, session_id=session.id, text="I love my new job", trace=True)
    turn.run()

    trace = turn.trace
    sources = [part["source"] for part in trace["prompt"]]
    assert sources[:3] == ["character", "instructions", "emotion"]
    assert sources[-1] == "history" and trace["prompt"][-1]["text"] == "I love my new job"
    assert trace["emotion"]["appraisal_source"] and trace["emotion"]["appraisal"]
    assert trace["model"] == "fake-chat" and trace["timings_ms"]["model_ms"] >= 0


def test_a_transient_failure_fails_the_waiting_turn_at_once_instead_of_queueing_a_retry(owner, fake_llm, settings):
    settings.RUN_MAX_ATTEMPTS = 3
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("fail")

    turn = services.message_turn(app=app, session_id=session.id, text="hello")
    with pytest.raises(LLMTransientError):
        list(turn)

    run = Run.objects.get(pk=turn.send.run_ref)
    assert (run.status, run.attempts, run.error_code) == ("failed", 1, "llm_unavailable")
    failed = Event.objects.get(session=session, event_type="run.failed")
    assert failed.payload["run_ref"] == run.id


def test_a_listener_that_leaves_mid_reply_does_not_lose_the_turn(owner, fake_llm):
    app = owner.api_key.app
    session = session_start(app)

    turn = services.message_turn(app=app, session_id=session.id, text="tell me a long story please")
    deltas = iter(turn)
    first = next(deltas)
    deltas.close()

    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert reply.payload["text"].startswith(first) and len(reply.payload["text"]) > len(first)
    assert Run.objects.get(pk=turn.send.run_ref).status == "succeeded"


def test_a_worker_streams_only_while_someone_listens(owner, fake_llm, flashed):
    app = owner.api_key.app
    session = session_start(app)

    quiet = services.message_send(app=app, session_id=session.id, text="hello", dispatch=False)
    services.run_execute(run_id=quiet.run_ref)
    services.delta_listen(session_id=session.id)
    heard = services.message_send(app=app, session_id=session.id, text="hello again", dispatch=False)
    services.run_execute(run_id=heard.run_ref)

    first, second = fake_llm.chat_requests
    assert not first.body.get("stream") and second.body["stream"] is True
    reply = Event.objects.filter(session=session, event_type="message.created", role="character").last()
    assert {frame["run_ref"] for frame in flashed} == {heard.run_ref}
    assert "".join(frame["text"] for frame in flashed) == reply.payload["text"]


def test_a_completion_in_a_characters_voice_is_metered_and_writes_no_session(owner, fake_llm):
    app = owner.api_key.app
    session_start(app, slug="luna", display_name="Luna")
    sessions, events = Session.objects.count(), Event.objects.count()

    completion = services.completion_stream(
        app=app,
        character_slug="luna",
        messages=[ChatMessage("system", "Speak softly."), ChatMessage("user", "hello")],
        external_user_ref="u-9",
    )
    deltas = list(completion)

    sent = _sent_messages(fake_llm.chat_requests[0])
    assert "Luna" in sent[0][1] and sent[1:] == [("system", "Speak softly."), ("user", "hello")]
    assert "".join(deltas) == completion.result.text == reply_for([{"role": r, "content": c} for r, c in sent])
    assert (Session.objects.count(), Event.objects.count()) == (sessions, events)
    record = UsageRecord.objects.get(external_user_ref="u-9")
    assert (record.status, record.character, record.session_id) == ("settled", "luna", "")
    assert record.output_tokens == completion.result.usage.completion_tokens > 0


def test_a_plain_completion_sends_the_messages_as_they_are(owner, fake_llm):
    app = owner.api_key.app
    messages = [ChatMessage("system", "You are terse."), ChatMessage("user", "2+2?")]

    result = services.completion_stream(app=app, messages=messages).run()

    assert _sent_messages(fake_llm.chat_requests[0]) == [("system", "You are terse."), ("user", "2+2?")]
    assert result.text and result.model == "fake-chat"


def test_a_completion_past_the_budget_or_for_an_unknown_character_calls_nothing(owner, fake_llm, other):
    app = owner.api_key.app
    llm_model_create(name="fake-chat", provider="openai_compatible", is_default=True, prompt_credits_per_1k=Decimal(5))
    session_start(other.api_key.app, slug="theirs")
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal("0.000001"))

    with pytest.raises(BudgetExceeded):
        services.completion_stream(app=app, messages=[ChatMessage("user", "hello")])
    with pytest.raises(CharacterNotFound):
        services.completion_stream(app=app, character_slug="theirs", messages=[ChatMessage("user", "hi")])

    assert fake_llm.chat_requests == [] and not UsageRecord.objects.exists()
