"""Retrying a failed run (the admin's action): a new run for the same trigger, never a second answer."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start


@pytest.fixture(autouse=True)
def _one_attempt(settings):
    """A failing model fails the run on its first attempt; the lexicon appraiser keeps it to one model call."""
    settings.RUN_MAX_ATTEMPTS = 1
    settings.EMOTION_APPRAISER = "lexicon"


def _failed_turn(app, session, fake_llm, capture, *, mode: str = "fail", text: str = "hello?") -> Run:
    fake_llm.set_mode(mode)
    with capture(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text=text)
    fake_llm.set_mode("instant")
    return Run.objects.get(pk=sent.run_ref)


def _written(session) -> tuple[int, int, int]:
    session.refresh_from_db()
    return (
        Run.objects.filter(session=session).count(),
        Event.objects.filter(session=session).count(),
        session.last_cursor,
    )


def test_a_run_failed_by_an_unavailable_model_is_answered_once_by_a_new_run(
    owner, fake_llm, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app)
    failed = _failed_turn(app, session, fake_llm, django_capture_on_commit_callbacks)
    assert (failed.status, failed.error_code) == ("failed", "llm_unavailable")
    announced.clear()

    with django_capture_on_commit_callbacks(execute=True):
        retried = services.runs_retry(run_ids=[failed.id])

    new_run = Run.objects.get(pk=retried[failed.id])
    assert (new_run.status, new_run.kind, new_run.trigger_cursor) == ("succeeded", failed.kind, failed.trigger_cursor)
    failed.refresh_from_db()
    assert failed.status == "failed"  # the record of the failure stays
    log = list(Event.objects.filter(session=session).order_by("cursor").values_list("event_type", "role", "run_id"))
    assert log[-4:] == [
        ("run.failed", "", failed.id),
        ("run.status", "", new_run.id),
        ("message.created", "character", new_run.id),
        ("emotion.updated", "character", new_run.id),
    ]
    status = Event.objects.get(session=session, event_type="run.status", run_id=new_run.id)
    assert status.payload == {"status": "generating", "run_ref": new_run.id, "retry_of": failed.id}
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
    # the retry answers the same user message, from the same history
    assert fake_llm.chat_requests[-1].body["messages"][-1]["content"] == "hello?"
    assert [event["event_type"] for event in announced][:1] == ["run.status"]


def test_a_second_retry_of_the_same_run_writes_nothing(owner, fake_llm, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    failed = _failed_turn(app, session, fake_llm, django_capture_on_commit_callbacks)
    first = services.runs_retry(run_ids=[failed.id])  # queued, not yet executed
    before = _written(session)

    assert services.runs_retry(run_ids=[failed.id]) == {}
    assert _written(session) == before
    assert list(first) == [failed.id]


@pytest.mark.parametrize("ineligible", ["terminal_code", "succeeded", "a_later_turn", "queued"])
def test_runs_that_do_not_qualify_are_left_alone(owner, fake_llm, django_capture_on_commit_callbacks, ineligible):
    app = owner.api_key.app
    session = session_start(app)
    capture = django_capture_on_commit_callbacks
    if ineligible == "terminal_code":
        run = _failed_turn(app, session, fake_llm, capture, mode="bad_request")
        assert run.error_code == "llm_error"
    elif ineligible == "succeeded":
        run = _failed_turn(app, session, fake_llm, capture, mode="instant")
        assert run.status == "succeeded"
    elif ineligible == "a_later_turn":
        run = _failed_turn(app, session, fake_llm, capture)
        with capture(execute=True):
            services.message_send(app=app, session_id=session.id, text="are you there?")
    else:
        sent = services.message_send(app=app, session_id=session.id, text="hi")
        run = Run.objects.get(pk=sent.run_ref)
    before = _written(session)
    requests = len(fake_llm.chat_requests)

    with capture(execute=True):
        assert services.runs_retry(run_ids=[run.id]) == {}

    assert _written(session) == before
    assert len(fake_llm.chat_requests) == requests


def test_a_run_abandoned_by_its_workers_can_be_retried(owner, fake_llm, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    sent = services.message_send(app=app, session_id=session.id, text="hi")
    Run.objects.filter(pk=sent.run_ref).update(status="failed", error_code="run_abandoned")

    with django_capture_on_commit_callbacks(execute=True):
        retried = services.runs_retry(run_ids=[sent.run_ref, "run_nosuchrun"])

    assert list(retried) == [sent.run_ref]
    assert Run.objects.get(pk=retried[sent.run_ref]).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_operators_retrying_the_same_run_at_once_get_one_new_run_and_one_answer(owner, fake_llm):
    """Real threads on their own connections: the run and session row locks let one retry through."""
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("fail")
    sent = services.message_send(app=app, session_id=session.id, text="hello?")  # runs inline after its commit
    assert Run.objects.get(pk=sent.run_ref).status == "failed"
    fake_llm.set_mode("instant")
    operators = 6
    start = threading.Barrier(operators)

    def retry(_):
        try:
            start.wait()
            return services.runs_retry(run_ids=[sent.run_ref])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=operators) as pool:
        answers = list(pool.map(retry, range(operators)))

    assert sorted(len(answer) for answer in answers) == [0] * (operators - 1) + [1]
    assert Run.objects.filter(session=session).count() == 2
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
    assert Event.objects.filter(session=session, event_type="run.status", payload__retry_of=sent.run_ref).count() == 1
