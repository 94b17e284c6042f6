"""A session's proactive controls: the names and platform defaults, validation of an integrator's update, and
the effective value of each control with where it came from (the session, the character or the default).

Plain values and functions, no database: ``proactive_rules`` schedules with what ``controls_resolve`` returns.
"""

import zoneinfo
from dataclasses import dataclass
from typing import Any

from apps.characters.types import BEHAVIORAL_THRESHOLDS
from apps.core.shapes import Boolean, Choice, ClockTime, Field, Record, shape_validate

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

# Every name the system's time zone database knows, except the machine's own local time.
TIME_ZONE_NAMES = sorted((zoneinfo.available_timezones() | {"UTC"}) - {"localtime", "Factory"})


# A session overrides a character's behavioral threshold within the same range.
_THRESHOLD_SHAPES = {field.name: field.shape for field in BEHAVIORAL_THRESHOLDS.fields}


def _override(name: str, doc: str) -> Field:
    """A control the session may override (as the character's threshold of that name); ``null`` drops the
    override."""
    return Field(name, _THRESHOLD_SHAPES[name], nullable=True, doc=doc)


QUIET_HOURS = Record(
    "QuietHours",
    (
        Field("start", ClockTime(), required=True, doc="Local time HH:MM when quiet hours begin."),
        Field("end", ClockTime(), required=True, doc="Local time HH:MM when they end (may be on the next day)."),
    ),
)

CONTROLS_UPDATE = Record(
    "ProactiveControls",
    (
        Field("proactive_enabled", Boolean(), doc="The master switch for this session."),
        _override("proactivity_tolerance", "How willing to write first; 0 never, 1 most eager."),
        _override("cold_initiate_enabled", "Open a fresh conversation after a long silence."),
        _override("session_resume_enabled", "Nudge a thread the user left unanswered."),
        _override("cold_initiate_min_idle_minutes", "Minimum silence before a cold initiate."),
        _override("session_resume_min_idle_minutes", "Minimum silence before a resume nudge."),
        _override(
            "session_resume_max_unanswered_character_turns",
            "Stop nudging after this many character messages in a row went unanswered.",
        ),
        _override("min_gap_between_initiate_minutes", "Minimum time between two proactive messages."),
        _override("daily_initiate_cap", "Most proactive messages per day (end-user's day)."),
        Field(
            "timezone",
            Choice(tuple(TIME_ZONE_NAMES)),
            doc="The end-user's IANA time zone, e.g. Asia/Seoul. Default UTC.",
        ),
        Field(
            "quiet_hours",
            QUIET_HOURS,
            nullable=True,
            doc="Local hours with no proactive messages; null removes them.",
        ),
    ),
    other_keys="refuse",
    doc="A partial update of a session's proactive settings. ``null`` drops the session's override of a "
    "control, so the character's value (or the platform default) applies again.",
)


def controls_validate(data: Any) -> dict[str, Any]:
    """Validate a controls update; return only the fields sent (quiet hours as ``datetime.time``). Raises
    ValidationFailed naming each bad field (``daily_initiate_cap``, ``quiet_hours.start``) and each unknown one."""
    return shape_validate(CONTROLS_UPDATE, data)


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
