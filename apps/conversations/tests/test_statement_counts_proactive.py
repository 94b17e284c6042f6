"""The proactive scan claims a batch in a constant number of statements, exactly once per slot.

Counted with the production event sinks (conftest swaps in a recording sink for the other tests), the
transaction control included, on whichever backend the suite runs on (SQLite and PostgreSQL both).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from apps.conversations import proactive_rules, services
from apps.conversations.models import Event, ProactiveSend, Run, Session
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.conversations.tests.factories import session_start
from apps.core import clock, executor
from config import settings as project_settings
from conftest import cache_clear

START = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)

# BEGIN; the locked due read; the sessions with their character versions; the gates (turns in flight,
# recent sends, newest messages); the ledger INSERT ... ON CONFLICT; the due-time/cursor UPDATE ... FROM;
# the Runs INSERT; the events INSERT; the webhook endpoint lookup (WebhookSink.record); COMMIT; and after
# commit the Telegram sink's chat lookup. (No webhook delivery rows: no endpoints.) The dispatch is counted
# apart: one ``executor.submit_many`` call for the batch.
SCAN_STATEMENTS = 13


@pytest.fixture
def production_sinks(settings):
    settings.EVENT_SINKS = project_settings.EVENT_SINKS
    assert settings.EVENT_SINKS == [
        "apps.delivery.sinks.ChannelLayerSink",
        "apps.delivery.sinks.TelegramSink",
        "apps.delivery.sinks.WebhookSink",
        "apps.delivery.persona_sinks.PersonaSocketSink",
        "apps.delivery.persona_sinks.PersonaWebhookSink",
    ]


@pytest.fixture
def dispatched(monkeypatch) -> list[list[str]]:
    """Each ``executor.submit_many`` call's run ids (the runs are not executed: that would be the turns' cost)."""
    calls: list[list[str]] = []

    def hold(task, args_list):
        assert task == RUN_EXECUTE_TASK
        calls.append([args[0] for args in args_list])

    monkeypatch.setattr(executor, "submit_many", hold)
    return calls


@pytest.fixture
def sim_now(monkeypatch):
    current = {"now": START}
    monkeypatch.setattr(clock, "now", lambda: current["now"])
    return current


def _due_sessions(app, count: int) -> list[Session]:
    """``count`` sessions with proactive on, each due at its own time in the last hour (oldest first)."""
    sessions = []
    for index in range(count):
        session = session_start(app, slug=f"c{index}", external_user_ref=f"u{index}", greeting="hi, I'm here.")
        services.session_proactive_update(
            app=app,
            session_id=session.id,
            changes={"proactive_enabled": True, "proactivity_tolerance": 1, "session_resume_min_idle_minutes": 10},
        )
        sessions.append(session)
    return sessions


def _scan_counted(count: int, owner, sim_now) -> tuple[int, list[str], list[Session]]:
    sessions = _due_sessions(owner.api_key.app, count)
    sim_now["now"] = START + timedelta(hours=1)
    # Cold route caches, as a scan usually finds them: a due session has been idle for longer than the
    # webhook/Telegram route caches keep a session's entry (warm, one session's lookups come from the cache).
    cache_clear()
    # The query log is a bounded deque: once earlier tests have filled it, a capture would come out short.
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        result = services.proactive_scan()
    assert result.examined == count
    return len(captured.captured_queries), result.run_ids, sessions


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count", [1, 25])
def test_a_scan_batch_costs_the_same_statements_for_1_and_25_due_sessions(
    count, owner, production_sinks, dispatched, sim_now
):
    statements, run_ids, sessions = _scan_counted(count, owner, sim_now)
    assert len(run_ids) == count
    assert dispatched == [run_ids]  # one bulk dispatch after commit
    assert statements == SCAN_STATEMENTS


@pytest.mark.django_db(transaction=True)
def test_the_runs_and_events_written_are_those_of_one_claim_each(owner, production_sinks, dispatched, sim_now):
    statements, run_ids, sessions = _scan_counted(3, owner, sim_now)
    now = sim_now["now"]
    by_session = {run.session_id: run for run in Run.objects.filter(pk__in=run_ids)}
    assert set(by_session) == {session.id for session in sessions}
    for session in sessions:
        session.refresh_from_db()
        run = by_session[session.id]
        (send,) = ProactiveSend.objects.filter(session=session)
        assert (send.sent_at, send.kind, send.run_id) == (now, "session_resume", run.id)
        assert send.slot_at == START + timedelta(minutes=10)
        assert (run.kind, run.status, run.attempts, run.available_at) == ("session_resume", "queued", 0, now)
        # the run.status event takes the next cursor, right after the greeting: gap-free
        cursors = list(Event.objects.filter(session=session).order_by("cursor").values_list("cursor", flat=True))
        assert cursors == list(range(cursors[0], cursors[0] + len(cursors)))
        event = Event.objects.get(session=session, cursor=session.last_cursor)
        assert run.trigger_cursor == session.last_cursor == cursors[-1]
        assert (event.event_type, event.role, event.run_id, event.created_at) == ("run.status", "", run.id, now)
        assert event.payload == {"status": "generating", "run_ref": run.id, "proactive": {"kind": "session_resume"}}
        assert session.proactive_next_due_at is None  # busy until its initiate turn ends


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_slot_is_in_the_ledger_gets_no_run_and_the_others_do(
    owner, production_sinks, dispatched, sim_now
):
    sessions = _due_sessions(owner.api_key.app, 3)
    taken = sessions[1]
    # as if another scanner had claimed this very slot without the row lock
    ProactiveSend.objects.create(
        session=taken, slot_at=START + timedelta(minutes=10), sent_at=START - timedelta(hours=3), kind="session_resume"
    )
    last_cursor = Session.objects.get(pk=taken.pk).last_cursor
    sim_now["now"] = START + timedelta(hours=1)

    result = services.proactive_scan()

    assert result.examined == 3
    assert sorted(Run.objects.filter(pk__in=result.run_ids).values_list("session_id", flat=True)) == sorted(
        [sessions[0].id, sessions[2].id]
    )
    assert dispatched == [result.run_ids]
    assert not Run.objects.filter(session=taken).exists()
    assert ProactiveSend.objects.filter(session=taken).count() == 1
    taken.refresh_from_db()
    assert taken.last_cursor == last_cursor  # no cursor reserved for it
    assert taken.proactive_next_due_at == sim_now["now"] + proactive_rules.CLAIM_RETRY  # looked at again in a minute


@pytest.mark.django_db(transaction=True)
def test_a_stale_due_time_in_a_batch_is_moved_not_sent(owner, production_sinks, dispatched, sim_now):
    app = owner.api_key.app
    sessions = _due_sessions(app, 2)
    sim_now["now"] = START + timedelta(minutes=5)
    services.session_proactive_update(
        app=app, session_id=sessions[0].id, changes={"session_resume_min_idle_minutes": 120}
    )
    # as if the due time had been stored before the controls changed
    Session.objects.filter(pk=sessions[0].pk).update(proactive_next_due_at=START + timedelta(minutes=10))
    sim_now["now"] = START + timedelta(minutes=30)

    result = services.proactive_scan()

    (run,) = Run.objects.filter(pk__in=result.run_ids)
    assert run.session_id == sessions[1].id
    stale = Session.objects.get(pk=sessions[0].pk)
    assert stale.proactive_next_due_at == START + timedelta(minutes=120)
    assert not ProactiveSend.objects.filter(session_id=stale.pk).exists()
