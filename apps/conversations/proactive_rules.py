"""When a character may write first: the schedule's rules, as pure functions over plain values (no database).

The scheduler, the controls endpoint and the turn pipeline all decide with this code, and every gate is
unit-tested. The controls the rules read (and where each value comes from) are ``proactive_controls``.

The rules, in order:
- nothing is due while proactive is off, while a turn is in flight, or when the tolerance or the daily cap is 0;
- a *session resume* nudges a thread the user left unanswered (the character spoke last) after
  ``session_resume_min_idle_minutes`` of silence, until ``session_resume_max_unanswered_character_turns``
  character messages in a row went unanswered;
- a *cold initiate* opens a fresh conversation after ``cold_initiate_min_idle_minutes`` of silence;
- both waits are stretched by the tolerance: ``wait = minimum x (2 - tolerance)``, so 1 is the minimum and
  an unwilling character waits up to twice as long (0 never writes first);
- then the minimum gap after the previous proactive send, the quiet hours (moved to their end) and the
  daily cap (counted per calendar day in the end-user's time zone; a full day moves to the next midnight).
"""

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from apps.conversations.proactive_controls import Controls

COLD_INITIATE = "cold_initiate"
SESSION_RESUME = "session_resume"

# The furthest back a send can still count against a cap or a gap: a local day is at most 25 h and the
# next due time can only be later than now.
SEND_LOOKBACK = timedelta(hours=50)
# A slot found already sent (a lost race the row lock should have prevented) is looked at again this much later.
CLAIM_RETRY = timedelta(minutes=1)


# --- time ------------------------------------------------------------------------------------------------
def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # a zone removed from the system database since
        return zoneinfo.ZoneInfo("UTC")


def local_day_bounds(moment: datetime, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar day containing ``moment`` as [start, end) instants; 23 or 25 hours on DST days."""
    day = moment.astimezone(tz).date()
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return _real_instant(start, tz), _real_instant(end, tz)


def _real_instant(local: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """A wall-clock time as a UTC instant. A time skipped by a DST change (fold=0, PEP 495) reads with the
    offset from before the change, which lands after the gap: a midnight that does not exist starts the
    day at the first instant that does."""
    return local.astimezone(UTC)


def quiet_until(moment: datetime, tz: zoneinfo.ZoneInfo, quiet: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours around ``moment`` end, or None when ``moment`` is outside them.

    ``quiet`` is (start, end) in local time; a start after the end wraps midnight (22:00-07:00), and equal
    times are an empty window."""
    if quiet is None or quiet[0] == quiet[1]:
        return None
    start, end = quiet
    local = moment.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= now < end, local.date()
    else:
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return _real_instant(datetime.combine(end_day, end, tzinfo=tz), tz)


# --- the schedule -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProactiveState:
    """What the schedule depends on, read from the session, its log and the ledger of sends."""

    enabled: bool
    controls: Controls
    tz: zoneinfo.ZoneInfo
    quiet: tuple[time, time] | None
    started_at: datetime  # the session's creation: the start of the silence when nobody has written yet
    last_message_at: datetime | None  # the newest message of either side (greeting included)
    unanswered: int  # character messages since the user's last message
    busy: bool  # a turn (reply or proactive) is queued or running: it reschedules when it ends
    sends: tuple[datetime, ...] = field(default_factory=tuple)  # scheduled sends of the last SEND_LOOKBACK


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: str


def next_due(state: ProactiveState) -> Due | None:
    """When the character may next write first and how (cold initiate or session resume), or None."""
    c = state.controls
    if not state.enabled or state.busy or c.proactivity_tolerance <= 0 or c.daily_initiate_cap <= 0:
        return None
    last_send = max(state.sends, default=None)
    # A send is activity too (even one whose turn failed), so silence is measured from the later of both.
    silence_from = max(filter(None, [state.last_message_at or state.started_at, last_send]))
    stretch = 2 - c.proactivity_tolerance
    resume_at = cold_at = None
    if c.session_resume_enabled and 1 <= state.unanswered < c.session_resume_max_unanswered_character_turns:
        resume_at = silence_from + timedelta(minutes=c.session_resume_min_idle_minutes * stretch)
    if c.cold_initiate_enabled:
        cold_at = silence_from + timedelta(minutes=c.cold_initiate_min_idle_minutes * stretch)
    candidates = [moment for moment in (resume_at, cold_at) if moment is not None]
    if not candidates:
        return None
    at = min(candidates)
    if last_send is not None:
        at = max(at, last_send + timedelta(minutes=c.min_gap_between_initiate_minutes))
    for _ in range(6):  # each pass moves ``at`` forward past quiet hours or a full day; two passes settle it
        quiet_end = quiet_until(at, state.tz, state.quiet)
        if quiet_end is not None:
            at = quiet_end
            continue
        day_start, day_end = local_day_bounds(at, state.tz)
        if sends_between(state.sends, day_start, day_end) >= c.daily_initiate_cap:
            at = day_end
            continue
        break
    # By the time it fires, a long silence may have turned the nudge into a fresh start.
    kind = COLD_INITIATE if cold_at is not None and (resume_at is None or at >= cold_at) else SESSION_RESUME
    return Due(at, kind)


def sends_between(sends: Iterable[datetime], start: datetime, end: datetime) -> int:
    return sum(1 for sent in sends if start <= sent < end)


def reply_payload(*, kind: str, run_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The character's ``message.created`` payload: a reply names the message it answers; a message the
    character initiated names why instead (``proactive: {kind, run_ref}``)."""
    if kind not in (COLD_INITIATE, SESSION_RESUME):
        return payload
    kept = {key: value for key, value in payload.items() if key != "reply_to_cursor"}
    return {**kept, "proactive": {"kind": kind, "run_ref": run_id}}
