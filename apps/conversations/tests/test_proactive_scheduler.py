"""The proactive scheduler against the real database: claiming due slots, races between scanners, a
simulated day, and the plan of the due scan.

Time is simulated by replacing ``apps.core.clock.now`` (the one place that reads the time), so a day passes in
seconds and every part of the pipeline (events, runs, leases, the schedule) agrees on "now".
"""

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection

from apps.conversations import proactive_rules, services, tasks
from apps.conversations.models import Event, ProactiveSend, Run, Session
from apps.conversations.services.proactive_scheduling import due_sessions_locked
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_concurrency import own_connection
from apps.core import clock

START = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)  # the US moves its clocks on March 8, 2026


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.current = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, **delta) -> datetime:
        with self._lock:
            self.current += timedelta(**delta)
            return self.current


@pytest.fixture
def sim(monkeypatch) -> SimulatedClock:
    simulated = SimulatedClock(START)
    monkeypatch.setattr(clock, "now", simulated.now)
    return simulated


def _proactive_session(app, *, slug="luna", user="user_1", **controls):
    session = session_start(app, slug=slug, external_user_ref=user, greeting="hi, I'm here.")
    return services.session_proactive_update(
        app=app, session_id=session.id, changes={"proactive_enabled": True, **controls}
    )


def _proactive_messages(session_id: str) -> list[Event]:
    return [
        event
        for event in Event.objects.filter(session_id=session_id, event_type="message.created").order_by("cursor")
        if "proactive" in event.payload
    ]


# --- one claim ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_due_session_is_claimed_once_and_its_message_arrives_through_the_pipeline(
    owner, sim, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = _proactive_session(app, proactivity_tolerance=1, session_resume_min_idle_minutes=30)
    assert session.proactive_next_due_at == START + timedelta(minutes=30)

    sim.advance(minutes=29)
    assert services.proactive_scan().run_ids == []  # not yet due

    sim.advance(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.proactive_scan()
    (run_id,) = result.run_ids
    run = Run.objects.get(pk=run_id)
    assert (run.kind, run.status) == ("session_resume", "succeeded")
    (send,) = ProactiveSend.objects.filter(session=session)
    assert (send.slot_at, send.sent_at, send.kind, send.run_id) == (
        START + timedelta(minutes=30),
        sim.now(),
        "session_resume",
        run_id,
    )
    (message,) = _proactive_messages(session.id)
    assert message.role == "character"
    assert message.payload["proactive"] == {"kind": "session_resume", "run_ref": run_id}
    assert message.payload["text"]
    assert message.event_type == "message.created"
    assert any(event["cursor"] == message.cursor for event in announced)
    # the turn's end rescheduled it: the nudge was the second unanswered turn, so a cold initiate is next
    session.refresh_from_db()
    assert session.proactive_next_due_at == sim.now() + timedelta(minutes=240)
    assert services.proactive_scan().run_ids == []  # the slot is not sent again


@pytest.mark.django_db
def test_a_stale_due_time_is_moved_when_the_user_spoke_since(owner, sim, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = _proactive_session(app, proactivity_tolerance=1, session_resume_min_idle_minutes=30)
    sim.advance(minutes=20)
    # a user message whose reply has not come yet: the due time stored earlier is stale
    services.message_send(app=app, session_id=session.id, text="hey, sorry, I was busy")
    sim.advance(minutes=15)
    assert services.proactive_scan().run_ids == []
    session.refresh_from_db()
    assert session.proactive_next_due_at is None  # the pending reply reschedules when it ends
    assert not ProactiveSend.objects.exists()


@pytest.mark.django_db
def test_a_slot_already_in_the_ledger_is_not_sent_again(owner, sim, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = _proactive_session(app, proactivity_tolerance=1, session_resume_min_idle_minutes=30)
    slot = START + timedelta(minutes=30)
    # as if another scanner had claimed this very slot without the row lock
    ProactiveSend.objects.create(
        session=session, slot_at=slot, sent_at=START - timedelta(hours=3), kind="session_resume"
    )
    sim.advance(minutes=31)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.proactive_scan().run_ids == []
    assert not Run.objects.filter(session=session).exists()
    assert ProactiveSend.objects.filter(session=session).count() == 1
    session.refresh_from_db()
    assert session.proactive_next_due_at == sim.now() + proactive_rules.CLAIM_RETRY


@pytest.mark.django_db
def test_switching_proactive_off_stops_the_scan_from_seeing_the_session(owner, sim):
    app = owner.api_key.app
    session = _proactive_session(app, proactivity_tolerance=1, session_resume_min_idle_minutes=30)
    services.session_proactive_update(app=app, session_id=session.id, changes={"proactive_enabled": False})
    sim.advance(hours=5)
    assert services.proactive_scan().examined == 0


@pytest.mark.django_db
def test_the_beat_task_scans_and_is_scheduled(owner, sim, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    _proactive_session(app, proactivity_tolerance=1, session_resume_min_idle_minutes=30)
    sim.advance(minutes=31)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.proactive_scan_task() == 1
        assert tasks.proactive_scan_task() == 0
    entry = django_settings.CELERY_BEAT_SCHEDULE["proactive-scan"]
    assert entry["task"] == "apps.conversations.tasks.proactive_scan_task"


# --- races -------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_eight_scanners_at_once_send_each_due_slot_exactly_once(owner, sim):
    app = owner.api_key.app
    sessions = [
        _proactive_session(app, slug=f"c{index}", user=f"u{index}", session_resume_min_idle_minutes=10)
        for index in range(24)
    ]
    sim.advance(hours=1)
    start = threading.Barrier(8)

    @own_connection
    def scan(_):
        start.wait()
        return services.proactive_scan(batch_size=5).run_ids

    with ThreadPoolExecutor(max_workers=8) as pool:
        claimed = [run_id for run_ids in pool.map(scan, range(8)) for run_id in run_ids]

    assert len(claimed) == len(set(claimed)) == len(sessions)
    assert ProactiveSend.objects.count() == len(sessions)
    assert sorted(ProactiveSend.objects.values_list("session_id", flat=True)) == sorted(s.id for s in sessions)
    for session in sessions:
        assert len(_proactive_messages(session.id)) == 1


# --- a simulated day -----------------------------------------------------------------------------------
ZONES = ["UTC", "America/New_York", "Asia/Seoul", "Europe/Berlin", "Australia/Adelaide"]


@pytest.mark.django_db(transaction=True)
def test_a_simulated_day_with_two_beats_holds_every_cap_and_gap_and_sends_no_slot_twice(owner, sim):
    """Two scanners race on every tick of a 30-hour day (crossing a DST change) while their runs execute;
    some end-users answer now and then. Every scheduled send respects the cap per local day, the gap and the
    quiet hours, each slot is sent once, each send produces exactly one message, and nothing due is left."""
    app = owner.api_key.app
    cap, gap = 3, 120
    sessions = []
    for index in range(12):
        quiet = {"start": "23:00", "end": "07:00"} if index % 3 == 0 else None
        session = _proactive_session(
            app,
            slug=f"c{index}",
            user=f"u{index}",
            proactivity_tolerance=1,
            session_resume_min_idle_minutes=20,
            session_resume_max_unanswered_character_turns=20,
            cold_initiate_min_idle_minutes=60,
            min_gap_between_initiate_minutes=gap,
            daily_initiate_cap=cap,
            timezone=ZONES[index % len(ZONES)],
            quiet_hours=quiet,
        )
        sessions.append(session)
    tick = timedelta(minutes=10)
    scanners = 2

    @own_connection
    def scan(barrier):
        barrier.wait()
        return services.proactive_scan(batch_size=4).run_ids

    claimed: list[str] = []
    with ThreadPoolExecutor(max_workers=scanners) as pool:
        for step in range(180):  # 30 hours
            sim.advance(minutes=10)
            if step % 37 == 0:  # now and then one end-user answers, which resets that thread
                talker = sessions[step % len(sessions)]
                services.message_send(app=app, session_id=talker.id, text="sorry, I'm back!")
            barrier = threading.Barrier(scanners)
            for run_ids in pool.map(scan, [barrier] * scanners):
                claimed.extend(run_ids)

    assert len(claimed) == len(set(claimed))
    total = 0
    for session in sessions:
        session.refresh_from_db()
        tz = ZoneInfo(session.timezone)
        sends = list(ProactiveSend.objects.filter(session=session).order_by("sent_at"))
        total += len(sends)
        times = [send.sent_at for send in sends]
        assert len({send.slot_at for send in sends}) == len(sends)
        for earlier, later in zip(times, times[1:], strict=False):
            assert later - earlier >= timedelta(minutes=gap), session.timezone
        per_day = defaultdict(int)
        for sent in times:
            per_day[sent.astimezone(tz).date()] += 1
            quiet = (session.quiet_hours_start, session.quiet_hours_end) if session.quiet_hours_start else None
            assert proactive_rules.quiet_until(sent, tz, quiet) is None
        assert max(per_day.values(), default=0) <= cap
        # every slot was claimed on the first tick after it came due
        assert all(send.sent_at - send.slot_at < tick for send in sends)
        # one message per send, carrying its run, and no other proactive message
        messages = _proactive_messages(session.id)
        assert sorted(m.payload["proactive"]["run_ref"] for m in messages) == sorted(s.run_id for s in sends)
        # nothing due is left behind
        assert session.proactive_next_due_at is None or session.proactive_next_due_at > sim.now() - tick
    assert set(claimed) == set(ProactiveSend.objects.values_list("run_id", flat=True))
    assert total >= len(sessions) * 4  # the day was busy enough to hit the caps
    assert set(Run.objects.filter(kind__in=["cold_initiate", "session_resume"]).values_list("status", flat=True)) == {
        "succeeded"
    }


# --- the plan ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_due_scan_reads_the_partial_index(owner):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    app = owner.api_key.app
    session = session_start(app, greeting="hi")
    now = clock.now()
    Session.objects.bulk_create(
        [
            Session(
                app=app,
                character=session.character,
                character_version=session.character_version,
                external_user_ref=f"u{index}",
                proactive_enabled=index % 2 == 0,
                proactive_next_due_at=now + timedelta(days=1 + index) if index % 4 == 0 else None,
            )
            for index in range(3000)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Session._meta.db_table}")
    plan = due_sessions_locked(now=now, limit=100).explain()
    assert "session_proactive_due" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_quiet_hours_helper_accepts_the_models_naive_times():
    tz = ZoneInfo("UTC")
    moment = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert proactive_rules.quiet_until(moment, tz, (time(23, 0), time(7, 0))) == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
