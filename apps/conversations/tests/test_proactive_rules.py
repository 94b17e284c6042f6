"""The proactive schedule's gates, as pure functions: no database, no clock."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.conversations import proactive_rules
from apps.conversations.proactive_controls import controls_resolve
from apps.conversations.proactive_rules import (
    COLD_INITIATE,
    SESSION_RESUME,
    ProactiveState,
    local_day_bounds,
    next_due,
    quiet_until,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def controls(**overrides):
    base = {
        "proactivity_tolerance": 1.0,
        "cold_initiate_enabled": True,
        "session_resume_enabled": True,
        "cold_initiate_min_idle_minutes": 240,
        "session_resume_min_idle_minutes": 60,
        "session_resume_max_unanswered_character_turns": 3,
        "min_gap_between_initiate_minutes": 120,
        "daily_initiate_cap": 3,
    }
    return controls_resolve(overrides={**base, **overrides}, thresholds=None)


def state(**changes) -> ProactiveState:
    base = ProactiveState(
        enabled=True,
        controls=controls(),
        tz=UTC_ZONE,
        quiet=None,
        started_at=T0 - timedelta(days=1),
        last_message_at=T0,
        unanswered=1,
        busy=False,
        sends=(),
    )
    return replace(base, **changes)


# --- the gates ------------------------------------------------------------------------------------------
def test_a_thread_left_unanswered_gets_a_resume_nudge_after_the_resume_idle_time():
    assert next_due(state()) == proactive_rules.Due(T0 + timedelta(minutes=60), SESSION_RESUME)


def test_after_the_last_allowed_unanswered_turn_only_a_cold_initiate_remains():
    assert next_due(state(unanswered=3)) == proactive_rules.Due(T0 + timedelta(minutes=240), COLD_INITIATE)
    assert next_due(state(unanswered=3, controls=controls(cold_initiate_enabled=False))) is None


def test_a_user_who_spoke_last_is_not_nudged_but_a_long_silence_still_opens_a_fresh_conversation():
    assert next_due(state(unanswered=0)) == proactive_rules.Due(T0 + timedelta(minutes=240), COLD_INITIATE)


def test_resume_disabled_leaves_the_cold_initiate():
    due = next_due(state(controls=controls(session_resume_enabled=False)))
    assert due == proactive_rules.Due(T0 + timedelta(minutes=240), COLD_INITIATE)


def test_a_resume_pushed_past_the_cold_idle_time_becomes_a_cold_initiate():
    # the gap after a send an hour ago holds everything for 5 h, longer than the 4 h cold idle time
    due = next_due(state(sends=(T0 - timedelta(hours=1),), controls=controls(min_gap_between_initiate_minutes=360)))
    assert due == proactive_rules.Due(T0 + timedelta(hours=5), COLD_INITIATE)


@pytest.mark.parametrize("change", [{"enabled": False}, {"busy": True}])
def test_nothing_is_due_while_switched_off_or_while_a_turn_is_in_flight(change):
    assert next_due(state(**change)) is None


def test_tolerance_zero_never_fires_and_lower_tolerance_waits_longer():
    assert next_due(state(controls=controls(proactivity_tolerance=0))) is None
    eager = next_due(state(controls=controls(proactivity_tolerance=1)))
    reluctant = next_due(state(controls=controls(proactivity_tolerance=0.25)))
    assert eager.at == T0 + timedelta(minutes=60)
    assert reluctant.at == T0 + timedelta(minutes=60 * 1.75)


def test_the_minimum_gap_counts_from_the_previous_send():
    last_send = T0 + timedelta(minutes=30)  # a send after the last message (its turn failed)
    due = next_due(state(sends=(last_send,), controls=controls(min_gap_between_initiate_minutes=180)))
    assert due.at == last_send + timedelta(minutes=180)


def test_the_daily_cap_moves_the_next_send_to_the_next_local_midnight():
    seoul = ZoneInfo("Asia/Seoul")  # UTC+9: T0 (12:00 UTC) is 21:00 local, the resume slot 22:00 local
    # 01:00, 10:00 and 19:00 on June 1 in Seoul; in UTC the first of them is still May 31
    sends = (
        datetime(2026, 5, 31, 16, tzinfo=UTC),
        datetime(2026, 6, 1, 1, tzinfo=UTC),
        datetime(2026, 6, 1, 10, tzinfo=UTC),
    )
    due = next_due(state(tz=seoul, sends=sends))
    assert due.at == datetime(2026, 6, 2, 0, 0, tzinfo=seoul)
    # the same sends for a user in UTC: two today, so the cap of three is not reached
    assert next_due(state(sends=sends)).at == T0 + timedelta(minutes=60)


def test_cap_zero_never_fires():
    assert next_due(state(controls=controls(daily_initiate_cap=0))) is None


def test_daily_cap_counts_the_local_day_of_the_send_not_the_utc_day():
    la = ZoneInfo("America/Los_Angeles")  # UTC-7 in June
    # 23:30 local on June 1 is 06:30 UTC on June 2
    late_evening = datetime(2026, 6, 1, 23, 30, tzinfo=la)
    start, end = local_day_bounds(late_evening, la)
    assert (start, end) == (datetime(2026, 6, 1, tzinfo=la), datetime(2026, 6, 2, tzinfo=la))
    assert proactive_rules.sends_between([late_evening], start, end) == 1


@pytest.mark.parametrize(
    ("day", "hours"),
    [(datetime(2026, 3, 8, 12), 23), (datetime(2026, 11, 1, 12), 25), (datetime(2026, 6, 1, 12), 24)],
)
def test_local_days_are_23_or_25_hours_long_on_dst_changes(day, hours):
    tz = ZoneInfo("America/New_York")
    start, end = local_day_bounds(day.replace(tzinfo=tz), tz)
    assert end - start == timedelta(hours=hours)


# --- quiet hours ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("local", "expected_end"),
    [
        (datetime(2026, 6, 1, 22, 0), datetime(2026, 6, 2, 7, 0)),  # the start is inside
        (datetime(2026, 6, 1, 23, 59), datetime(2026, 6, 2, 7, 0)),
        (datetime(2026, 6, 2, 0, 0), datetime(2026, 6, 2, 7, 0)),  # after midnight: ends the same day
        (datetime(2026, 6, 2, 6, 59), datetime(2026, 6, 2, 7, 0)),
        (datetime(2026, 6, 2, 7, 0), None),  # the end is outside
        (datetime(2026, 6, 1, 21, 59), None),
        (datetime(2026, 6, 1, 12, 0), None),
    ],
)
def test_quiet_hours_wrapping_midnight(local, expected_end):
    tz = ZoneInfo("Europe/Berlin")
    end = quiet_until(local.replace(tzinfo=tz), tz, (time(22, 0), time(7, 0)))
    assert end == (expected_end.replace(tzinfo=tz) if expected_end else None)


def test_quiet_hours_within_one_day_and_an_empty_window():
    tz = UTC_ZONE
    assert quiet_until(T0, tz, (time(11, 0), time(13, 0))) == T0 + timedelta(hours=1)
    assert quiet_until(T0, tz, (time(13, 0), time(14, 0))) is None
    assert quiet_until(T0, tz, (time(12, 0), time(12, 0))) is None


def test_a_slot_in_quiet_hours_waits_for_their_end_in_the_users_zone():
    tokyo = ZoneInfo("Asia/Tokyo")  # T0 + 60 min = 22:00 in Tokyo
    due = next_due(state(tz=tokyo, quiet=(time(21, 30), time(8, 0))))
    assert due.at == datetime(2026, 6, 2, 8, 0, tzinfo=tokyo)
    assert due.kind == COLD_INITIATE  # ten hours later the nudge has become a fresh start


def test_a_full_day_then_quiet_morning_hours_move_to_the_end_of_the_quiet_hours_of_the_next_day():
    sends = (T0 - timedelta(hours=3), T0 - timedelta(hours=2), T0 - timedelta(hours=1))
    due = next_due(state(sends=sends, quiet=(time(23, 0), time(6, 30))))
    assert due.at == datetime(2026, 6, 2, 6, 30, tzinfo=UTC)


# --- the invariants under any schedule ------------------------------------------------------------------
ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]


@settings(max_examples=150, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    cap=st.integers(1, 5),
    gap=st.integers(0, 300),
    resume_idle=st.integers(0, 300),
    cold_idle=st.integers(5, 600),
    tolerance=st.floats(0.05, 1),
    quiet=st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)),
    steps=st.integers(5, 40),
)
def test_firing_every_slot_as_soon_as_it_is_due_never_breaks_the_cap_the_gap_or_the_quiet_hours(
    zone_name, cap, gap, resume_idle, cold_idle, tolerance, quiet, start, steps
):
    """Covers 23 h and 25 h days (New York, London, Lord Howe's half hour, Chatham's 45 minutes)."""
    tz = ZoneInfo(zone_name)
    quiet_hours = (time(quiet[0]), time(quiet[1])) if quiet else None
    current = state(
        tz=tz,
        quiet=quiet_hours,
        last_message_at=start.replace(tzinfo=UTC),
        controls=controls(
            daily_initiate_cap=cap,
            min_gap_between_initiate_minutes=gap,
            session_resume_min_idle_minutes=resume_idle,
            cold_initiate_min_idle_minutes=cold_idle,
            proactivity_tolerance=tolerance,
            session_resume_max_unanswered_character_turns=20,
        ),
    )
    sends: list[datetime] = []
    for _ in range(steps):
        due = next_due(current)
        assert due is not None
        assert not sends or due.at > sends[-1]
        sends.append(due.at)
        # the message lands a few seconds after the slot is claimed
        current = replace(
            current,
            sends=tuple(sends),
            last_message_at=due.at + timedelta(seconds=5),
            unanswered=current.unanswered + 1,
        )
    for earlier, later in zip(sends, sends[1:], strict=False):
        assert later - earlier >= timedelta(minutes=gap)
    for sent in sends:
        start_of_day, end_of_day = local_day_bounds(sent, tz)
        assert proactive_rules.sends_between(sends, start_of_day, end_of_day) <= cap
        assert quiet_until(sent, tz, quiet_hours) is None
