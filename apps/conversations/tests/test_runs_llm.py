"""The run pipeline against a fake OpenAI-compatible server: real HTTP through the openai client, retries, failures.

Retry tests drive the loop themselves (``run_execute`` again after moving the run's ``available_at`` into
the past) instead of letting the inline executor start timer threads outside the test transaction.
"""

from datetime import timedelta

import pytest

from apps.conversations import prompts, services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from apps.core import clock
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ChatMessage
from tests.fakes.fixtures import FAKE_LLM_API_KEY
from tests.fakes.openai_server import reply_for


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    """These tests count the reply's model calls; the metered model appraisal has its own tests."""
    settings.EMOTION_APPRAISER = "lexicon"


CHARACTER = {
    "display_name": "Luna",
    "greeting": "Hi, I'm Luna.",
    "profile": {"visible_interests": ["night photography", "tea"], "city": "Lisbon"},
}


@pytest.fixture
def retry_settings(settings):
    # A long backoff proves a queued retry is not taken early; the tests then move time past it.
    settings.RUN_RETRY_BACKOFF_SECONDS = 30.0
    settings.RUN_MAX_ATTEMPTS = 3
    return settings


def _send(app, session, text="hey, what are you up to?"):
    """Accept a message without dispatching it (on_commit callbacks do not run inside the test transaction)."""
    return services.message_send(app=app, session_id=session.id, text=text)


def _drive(run_id, capture) -> list[tuple[str, float | None]]:
    """Execute the run until it stops asking for a retry, as a worker would, moving time past each backoff."""
    outcomes = []
    for _ in range(10):
        with capture(execute=True):
            outcome = services.run_execute(run_id=run_id)
        outcomes.append((outcome.status, outcome.retry_in))
        if outcome.retry_in is None:
            return outcomes
        assert services.run_execute(run_id=run_id).status == "skipped"  # not due before its backoff
        Run.objects.filter(pk=run_id).update(available_at=clock.now() - timedelta(seconds=1))
    raise AssertionError(f"run {run_id} never settled: {outcomes}")


def _log(session) -> list[tuple[str, str]]:
    return list(Event.objects.filter(session=session).order_by("cursor").values_list("event_type", "role"))


def test_a_reply_goes_through_the_openai_client_and_lands_as_bubbles(
    owner, fake_llm, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="hey, what are you up to?")

    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert reply.payload["text"] == "Luna here, you said: hey, what are you up to. Tell me more about it?"
    assert reply.payload["bubbles"] == ["Luna here, you said: hey, what are you up to.", "Tell me more about it?"]
    assert (reply.payload["run_ref"], reply.payload["reply_to_cursor"]) == (sent.run_ref, sent.cursor)
    run = Run.objects.get(pk=sent.run_ref)
    [request] = fake_llm.chat_requests
    assert (run.status, run.attempts, run.model_calls, run.model) == ("succeeded", 1, 1, "fake-chat")
    assert run.prompt_tokens == sum(len(m["content"].split()) for m in request.body["messages"])
    assert run.completion_tokens == len(reply.payload["text"].split())
    assert [e["event_type"] for e in announced] == [
        "message.created",
        "run.status",
        "message.created",
        "emotion.updated",
    ]


def test_the_prompt_upstream_is_the_character_sheet_then_the_history_in_order(
    owner, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="first message")
    first_reply = reply_for(fake_llm.chat_requests[0].body["messages"])

    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="second message")

    request = fake_llm.chat_requests[-1]
    version_content = session.character_version.content
    assert request.authorization == f"Bearer {FAKE_LLM_API_KEY}"
    assert request.body["model"] == "fake-chat"
    assert request.body["messages"][1]["role"] == "system"  # the emotion engine's blocks (apps/personas tests)
    assert request.body["messages"][1]["content"].startswith("[Current inner state]")
    del request.body["messages"][1]
    assert request.body["messages"] == [
        {"role": "system", "content": prompts.system_prompt(version_content)},
        {"role": "assistant", "content": "Hi, I'm Luna."},
        {"role": "user", "content": "first message"},
        {"role": "assistant", "content": first_reply},
        {"role": "user", "content": "second message"},
    ]
    system = request.body["messages"][0]["content"]
    assert system.startswith("You are Luna.") and "Interests: night photography, tea" in system


def test_flaky_model_is_retried_with_backoff_and_answers_exactly_once(
    owner, fake_llm, retry_settings, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    fake_llm.set_mode("flaky", fail_times=2)
    sent = _send(app, session)

    outcomes = _drive(sent.run_ref, django_capture_on_commit_callbacks)

    assert outcomes == [("queued", 30.0), ("queued", 60.0), ("succeeded", None)]  # exponential backoff
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts, run.model_calls, run.error_code) == ("succeeded", 3, 3, "")
    assert len(fake_llm.chat_requests) == 3
    assert _log(session)[-2:] == [("message.created", "character"), ("emotion.updated", "character")]
    assert Event.objects.filter(session=session, role="character", event_type="message.created").count() == 1
    assert not Event.objects.filter(session=session, event_type="run.failed").exists()
    assert [e["event_type"] for e in announced] == ["message.created", "emotion.updated"]  # announced once


def test_the_inline_executor_redispatches_until_the_reply_when_backoff_is_zero(
    owner, fake_llm, settings, django_capture_on_commit_callbacks
):
    settings.RUN_RETRY_BACKOFF_SECONDS = 0
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    fake_llm.set_mode("flaky", fail_times=2)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="are you there?")

    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts, run.model_calls) == ("succeeded", 3, 3)
    assert _log(session)[-3:] == [
        ("run.status", ""),
        ("message.created", "character"),
        ("emotion.updated", "character"),
    ]


def test_a_slow_model_times_out_and_the_retry_answers(
    owner, fake_llm, retry_settings, django_capture_on_commit_callbacks
):
    retry_settings.LLM_TIMEOUT_SECONDS = 0.2
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    sent = _send(app, session)
    fake_llm.set_mode("slow", delay_seconds=5)

    first = services.run_execute(run_id=sent.run_ref)
    fake_llm.set_mode("instant")
    Run.objects.filter(pk=sent.run_ref).update(available_at=clock.now() - timedelta(seconds=1))
    rest = _drive(sent.run_ref, django_capture_on_commit_callbacks)

    assert (first.status, rest) == ("queued", [("succeeded", None)])
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.attempts, run.model_calls) == (2, 2)


def test_a_model_that_keeps_failing_ends_in_one_run_failed_after_max_attempts(
    owner, fake_llm, retry_settings, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    fake_llm.set_mode("fail")
    sent = _send(app, session)
    log_before = _log(session)

    outcomes = _drive(sent.run_ref, django_capture_on_commit_callbacks)

    assert [status for status, _ in outcomes] == ["queued", "queued", "failed"]
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts, run.model_calls, run.error_code) == ("failed", 3, 3, "llm_unavailable")
    assert "HTTP 500" in run.error_message and run.finished_at is not None
    assert len(fake_llm.chat_requests) == retry_settings.RUN_MAX_ATTEMPTS
    assert _log(session) == [*log_before, ("run.failed", "")]
    failed = Event.objects.get(session=session, event_type="run.failed")
    assert failed.payload["run_ref"] == sent.run_ref
    assert (failed.payload["code"], failed.payload["retryable"]) == ("llm_unavailable", False)
    assert [e["event_type"] for e in announced] == ["run.failed"]


def test_a_refused_request_fails_at_once_without_retrying(
    owner, fake_llm, retry_settings, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    fake_llm.set_mode("bad_request")
    sent = _send(app, session)

    outcomes = _drive(sent.run_ref, django_capture_on_commit_callbacks)

    assert outcomes == [("failed", None)]
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts, run.model_calls, run.error_code) == ("failed", 1, 1, "llm_error")
    assert len(fake_llm.chat_requests) == 1
    failed = Event.objects.get(session=session, event_type="run.failed")
    assert failed.payload["code"] == "llm_error"
    assert not Event.objects.filter(session=session, role="character", event_type="message.created").exists()


def test_an_unknown_model_fails_the_run_without_counting_a_model_call(
    owner, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER, model="no-such-model")
    sent = _send(app, session)

    outcomes = _drive(sent.run_ref, django_capture_on_commit_callbacks)

    assert outcomes == [("failed", None)]
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts, run.model_calls, run.error_code) == ("failed", 1, 0, "model_not_found")
    assert fake_llm.chat_requests == []


def _abandon(run_id, *, attempts: int) -> None:
    """Leave the run as a worker that died mid-turn leaves it: running, with an expired lease."""
    past = clock.now() - timedelta(seconds=1)
    Run.objects.filter(pk=run_id).update(status=Run.Status.RUNNING, attempts=attempts, lease_expires_at=past)


def test_a_run_whose_worker_died_is_taken_over_and_answered_once(owner, fake_llm, retry_settings):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    sent = _send(app, session)
    _abandon(sent.run_ref, attempts=retry_settings.RUN_MAX_ATTEMPTS - 1)

    assert sent.run_ref in services.runs_recover()
    outcome = services.run_execute(run_id=sent.run_ref)

    assert outcome.status == "succeeded"
    assert Run.objects.get(pk=sent.run_ref).attempts == retry_settings.RUN_MAX_ATTEMPTS
    assert Event.objects.filter(session=session, role="character", event_type="message.created").count() == 1


def test_a_turn_that_kills_its_worker_every_time_fails_instead_of_looping(
    owner, fake_llm, retry_settings, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    sent = _send(app, session)
    _abandon(sent.run_ref, attempts=retry_settings.RUN_MAX_ATTEMPTS)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.run_execute(run_id=sent.run_ref)

    assert outcome.status == "failed"
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.error_code, run.model_calls) == ("failed", "run_abandoned", 0)
    assert fake_llm.chat_requests == []  # no further model call for a poison turn
    assert [e["event_type"] for e in announced] == ["run.failed"]
    assert sent.run_ref not in services.runs_recover()
    assert not Event.objects.filter(session=session, role="character", event_type="message.created").exists()


@pytest.mark.parametrize("mode", ["instant", "bad_request"])
def test_executing_a_finished_run_again_writes_nothing(owner, fake_llm, django_capture_on_commit_callbacks, mode):
    app = owner.api_key.app
    session = session_start(app, **CHARACTER)
    fake_llm.set_mode(mode)
    sent = _send(app, session)
    services.run_execute(run_id=sent.run_ref)
    run_before = Run.objects.values().get(pk=sent.run_ref)
    log_before = _log(session)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = services.run_execute(run_id=sent.run_ref)

    assert again.status == "skipped"
    assert Run.objects.values().get(pk=sent.run_ref) == run_before
    assert _log(session) == log_before
    assert callbacks == []
    assert len(fake_llm.chat_requests) == 1


def test_scripted_provider_answers_in_character_from_the_system_prompt(db):
    content = {"display_name": "Mira", "profile": {"visible_interests": ["astronomy", "tea"]}}
    spec = llm_selectors.model_spec_get(name="scripted")

    opening = llm_services.chat(spec=spec, messages=prompts.chat_messages(content, []))
    reply = llm_services.chat(spec=spec, messages=prompts.chat_messages(content, [("user", "what's new?")]))
    again = llm_services.chat(spec=spec, messages=prompts.chat_messages(content, [("user", "what's new?")]))

    assert opening.text.startswith("Hey, it's Mira.")
    assert "astronomy" in reply.text or "tea" in reply.text
    assert "what's new" not in reply.text  # in character, not a parrot
    assert again.text == reply.text
    assert prompts.chat_messages(content, [])[0] == ChatMessage("system", prompts.system_prompt(content))
