"""A worker's turn that meets a PostgreSQL outage is retried with backoff and answered once (docs/operators.md,
"Failure behaviour"): an outage before the claim leaves the run queued; one after it lets the retry take back
the attempt it cut off, instead of waiting for the lease that attempt could not release."""

from datetime import timedelta

import pytest
from django.db import OperationalError

from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from apps.core import clock
from tests.outages import POSTGRES_ONLY, postgres_down

pytestmark = pytest.mark.django_db(transaction=True)


def _replies(run_id: str) -> int:
    return Event.objects.filter(run_id=run_id, event_type="message.created", role="character").count()


@pytest.fixture
def queued_run(owner, fake_llm) -> Run:
    """A run accepted and queued, not yet answered: its first model call failed transiently, so it waits for
    its retry (which the test plays itself: the inline executor leaves delayed work to the sweeps)."""
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("fail")
    sent = services.message_send(app=app, session_id=session.id, text="hello")
    fake_llm.set_mode("instant")
    Run.objects.filter(pk=sent.run_ref).update(available_at=clock.now())  # its backoff is over
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.attempts) == ("queued", 1)
    return run


def _cut_off(run: Run, attempt: int) -> None:
    """As if ``attempt`` claimed the run and then lost the database: running, its lease far from expired."""
    Run.objects.filter(pk=run.pk).update(
        status="running", attempts=attempt, lease_expires_at=clock.now() + timedelta(minutes=5)
    )


def test_a_retry_takes_back_the_attempt_an_outage_cut_off_and_answers_once(queued_run):
    _cut_off(queued_run, attempt=2)

    # a plain dispatch, or a retry naming another attempt, leaves a run whose lease is held alone
    assert services.run_execute(run_id=queued_run.id).status == "skipped"
    assert services.run_execute(run_id=queued_run.id, resume_attempt=1, interruptions=1).status == "skipped"
    assert _replies(queued_run.id) == 0

    # the retry of the attempt that was cut off takes the run back at once, as a new attempt
    outcome = services.run_execute(run_id=queued_run.id, resume_attempt=2, interruptions=1)
    assert outcome.status == "succeeded"
    queued_run.refresh_from_db()
    assert (queued_run.status, queued_run.attempts) == ("succeeded", 3)
    assert _replies(queued_run.id) == 1

    # and a duplicate of that retry (a redelivered message) finds nothing left to do
    assert services.run_execute(run_id=queued_run.id, resume_attempt=2, interruptions=1).status == "skipped"
    assert _replies(queued_run.id) == 1


@POSTGRES_ONLY
def test_a_turn_that_cannot_reach_postgres_is_retried_with_backoff_and_answered_once_after(queued_run, settings):
    settings.RUN_RETRY_BACKOFF_SECONDS = 2.0
    with postgres_down():
        first = services.run_execute(run_id=queued_run.id)
        third = services.run_execute(run_id=queued_run.id, interruptions=2)
        with pytest.raises(OperationalError):  # past its retries: left to the recovery sweep
            services.run_execute(run_id=queued_run.id, interruptions=20)

    # the claim itself failed: retry later (2 s, then doubling, capped), the run untouched and still queued
    assert (first.status, first.retry_in, first.resume_attempt) == ("interrupted", 2.0, None)
    assert (third.status, third.retry_in) == ("interrupted", 8.0)
    assert services.runs_recover() == []  # not overdue yet: the retries have it
    queued_run.refresh_from_db()
    assert (queued_run.status, queued_run.attempts) == ("queued", 1)

    # once PostgreSQL is back the retry answers, once
    assert services.run_execute(run_id=queued_run.id, interruptions=1).status == "succeeded"
    assert _replies(queued_run.id) == 1
