"""Races closed by the database, with real threads, each on its own connection (``transactional_db``).

The inline executor runs each turn in the sending thread right after its commit, as a worker would.
Works on SQLite (``IMMEDIATE`` transactions, 20 s busy timeout) and PostgreSQL alike.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import wraps

import pytest
from django.db import connection

from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from apps.personas.models import PersonaSession


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    """These tests count the reply's model calls; the metered model appraisal has its own tests."""
    settings.EMOTION_APPRAISER = "lexicon"


pytestmark = pytest.mark.django_db(transaction=True)


def own_connection(function):
    """Run ``function`` in a thread that closes its database connection when done (else it leaks)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return wrapper


def _replies(session) -> list[Event]:
    return list(Event.objects.filter(session=session, event_type="message.created", role="character"))


def test_twenty_concurrent_sends_get_distinct_gap_free_cursors_and_one_reply_each(owner, announced, settings):
    # given one session and twenty senders released at the same moment
    app = owner.api_key.app
    session = session_start(app)
    senders = 20
    settings.TURNS_MAX_PENDING_PER_SESSION = senders  # all twenty may be unanswered at once: not what is tested here
    start = threading.Barrier(senders)

    @own_connection
    def send(index: int):
        start.wait()
        return services.message_send(app=app, session_id=session.id, text=f"message number {index}")

    # when they all send to the session at once
    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(send, range(senders)))

    # then each got its own cursor, turn index and run
    user_cursors = sorted(result.cursor for result in results)
    assert len(set(user_cursors)) == senders
    assert sorted(result.sent_turn_index for result in results) == list(range(1, senders + 1))
    run_refs = {result.run_ref for result in results}
    assert len(run_refs) == senders
    # and the log is gap-free: per send one user message, one run.status, exactly one reply and its emotion
    events = list(Event.objects.filter(session=session).order_by("cursor"))
    assert [event.cursor for event in events] == list(range(1, 4 * senders + 1))
    assert sorted(event.cursor for event in events if event.role == "user") == user_cursors
    replies = _replies(session)
    assert sorted(reply.payload["run_ref"] for reply in replies) == sorted(run_refs)
    assert sorted(reply.payload["reply_to_cursor"] for reply in replies) == user_cursors
    assert set(Run.objects.filter(session=session).values_list("status", "attempts")) == {("succeeded", 1)}
    session.refresh_from_db()
    assert (session.last_cursor, session.user_turn_count) == (4 * senders, senders)
    # and the racing runs made one emotion session, which counted every turn (none lost)
    assert PersonaSession.objects.filter(app=app).count() == 1
    assert session.persona_session.turn_count == senders
    assert sum(event.event_type == "emotion.updated" for event in events) == senders
    # and every event was announced exactly once
    assert sorted(event["cursor"] for event in announced) == list(range(1, 4 * senders + 1))


def test_a_run_held_by_a_live_worker_is_not_taken_and_a_late_answer_is_fenced_off(owner, fake_llm):
    # given worker A executing a turn, stuck in a slow model call
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("slow", delay_seconds=2.0)
    sent: list = []
    worker_a = threading.Thread(
        target=own_connection(lambda: sent.append(services.message_send(app=app, session_id=session.id, text="hi")))
    )
    worker_a.start()
    deadline = time.monotonic() + 10
    while not fake_llm.chat_requests and time.monotonic() < deadline:  # a deadline, not a timed assertion
        time.sleep(0.02)
    run = Run.objects.get(session=session)
    assert (run.status, run.attempts) == ("running", 1)

    # when worker B gets the same run while A's lease is valid, it leaves it alone
    assert services.run_execute(run_id=run.id).status == "skipped"
    assert run.id not in services.runs_recover()

    # when A's lease runs out (as if A had died), B takes the run over and answers
    fake_llm.set_mode("instant")
    Run.objects.filter(pk=run.id).update(lease_expires_at=run.started_at)
    assert services.runs_recover() == [run.id]
    assert services.run_execute(run_id=run.id).status == "succeeded"

    # then A's late answer is dropped: one reply, written by attempt 2
    worker_a.join(timeout=30)
    assert not worker_a.is_alive()
    assert len(fake_llm.chat_requests) == 2
    assert len(_replies(session)) == 1
    run.refresh_from_db()
    assert (run.status, run.attempts, run.model_calls) == ("succeeded", 2, 1)
    assert [event.event_type for event in Event.objects.filter(session=session).order_by("cursor")] == [
        "message.created",
        "run.status",
        "message.created",
        "emotion.updated",
    ]
