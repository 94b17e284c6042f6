"""When a character may write first: the controls, where each value comes from, and the next due time.

Pure functions over plain values (no database), so every gate is unit-tested and the scheduler, the
controls endpoint and the turn pipeline all decide with the same code.

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

from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.core.errors import ValidationFailed, field_error_paths
from apps.core.fields import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField

COLD_INITIATE = "cold_initiate"
SESSION_RESUME = "session_resume"

# Used when neither the session nor the character's behavioral_thresholds set a control.
PLATFORM_DEFAULTS: dict[str, Any] = {
    "proactivity_tolerance": 0.5,
    "cold_initiate_enabled": True,
    "session_resume_enabled": True,
    "cold_initiate_min_idle_minutes": 240,
    "session_resume_min_idle_minutes": 60,
    "session_resume_max_unanswered_character_turns": 2,
    "min_gap_between_initiate_minutes": 120,
    "daily_initiate_cap": 3,
}
CONTROL_NAMES = tuple(PLATFORM_DEFAULTS)
SOURCE_SESSION, SOURCE_CHARACTER, SOURCE_DEFAULT = "session", "character", "default"
# The furthest back a send can still count against a cap or a gap: a local day is at most 25 h and the
# next due time can only be later than now.
SEND_LOOKBACK = timedelta(hours=50)
# A slot found already sent (a lost race the row lock should have prevented) is looked at again this much later.
CLAIM_RETRY = timedelta(minutes=1)


# --- controls -----------------------------------------------------------------------------------------
def _nullable(field_class, **kwargs):
    return field_class(required=False, allow_null=True, **kwargs)


# Every name the system's time zone database knows, except the machine's own local time.
TIME_ZONE_NAMES = sorted((zoneinfo.available_timezones() | {"UTC"}) - {"localtime", "Factory"})
CLOCK_TIME = RegexValidator(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "Must be a local time as HH:MM, e.g. 22:30.")


class QuietHoursSerializer(serializers.Serializer):
    start = StrictCharField(help_text="Local time HH:MM when quiet hours begin.", validators=[CLOCK_TIME])
    end = StrictCharField(help_text="Local time HH:MM when they end (may be on the next day).", validators=[CLOCK_TIME])

    def validate_start(self, value: str) -> time:
        return _clock_time(value)

    def validate_end(self, value: str) -> time:
        return _clock_time(value)


def _clock_time(value: str) -> time:
    try:
        parsed = datetime.strptime(value, "%H:%M").time()
    except ValueError as error:
        raise serializers.ValidationError("Must be a local time as HH:MM, e.g. 22:30.") from error
    return parsed


class ProactiveControlsSerializer(serializers.Serializer):
    """A partial update of a session's proactive settings. ``null`` drops the session's override of a
    control, so the character's value (or the platform default) applies again."""

    proactive_enabled = StrictBooleanField(required=False, help_text="The master switch for this session.")
    proactivity_tolerance = _nullable(
        StrictFloatField, min_value=0, max_value=1, help_text="How willing to write first; 0 never, 1 most eager."
    )
    cold_initiate_enabled = _nullable(StrictBooleanField, help_text="Open a fresh conversation after a long silence.")
    session_resume_enabled = _nullable(StrictBooleanField, help_text="Nudge a thread the user left unanswered.")
    cold_initiate_min_idle_minutes = _nullable(
        StrictIntegerField, min_value=5, max_value=1440, help_text="Minimum silence before a cold initiate."
    )
    session_resume_min_idle_minutes = _nullable(
        StrictIntegerField, min_value=0, max_value=1440, help_text="Minimum silence before a resume nudge."
    )
    session_resume_max_unanswered_character_turns = _nullable(
        StrictIntegerField,
        min_value=0,
        max_value=20,
        help_text="Stop nudging after this many character messages in a row went unanswered.",
    )
    min_gap_between_initiate_minutes = _nullable(
        StrictIntegerField, min_value=0, max_value=1440, help_text="Minimum time between two proactive messages."
    )
    daily_initiate_cap = _nullable(
        StrictIntegerField, min_value=0, max_value=50, help_text="Most proactive messages per day (end-user's day)."
    )
    timezone = serializers.ChoiceField(
        choices=TIME_ZONE_NAMES,
        required=False,
        help_text="The end-user's IANA time zone, e.g. Asia/Seoul. Default UTC.",
    )
    quiet_hours = QuietHoursSerializer(
        required=False, allow_null=True, help_text="Local hours with no proactive messages; null removes them."
    )


def controls_validate(data: Any) -> dict[str, Any]:
    """Validate a controls update; return only the fields sent. Raises ValidationFailed naming each bad
    field (``daily_initiate_cap``, ``quiet_hours.start``) and each unknown one."""
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["Must be a JSON object."]})
    serializer = ProactiveControlsSerializer(data=data)
    unknown = sorted(set(data) - set(serializer.fields))
    if not serializer.is_valid() or unknown:
        fields = field_error_paths(serializer.errors) if serializer.errors else {}
        fields.update({name: ["Unknown field."] for name in unknown})
        raise ValidationFailed(fields)
    return dict(serializer.validated_data)


@dataclass(frozen=True)
class Controls:
    """The effective value of every control and where it came from (session, character or default)."""

    values: dict[str, Any]
    sources: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError as error:
            raise AttributeError(name) from error


def controls_resolve(*, overrides: dict[str, Any], thresholds: dict[str, Any] | None) -> Controls:
    """The session's overrides win, then the character version's ``behavioral_thresholds``, then the defaults."""
    thresholds = thresholds or {}
    values, sources = {}, {}
    for name, default in PLATFORM_DEFAULTS.items():
        if overrides.get(name) is not None:
            values[name], sources[name] = overrides[name], SOURCE_SESSION
        elif thresholds.get(name) is not None:
            values[name], sources[name] = thresholds[name], SOURCE_CHARACTER
        else:
            values[name], sources[name] = default, SOURCE_DEFAULT
    return Controls(values, sources)


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
