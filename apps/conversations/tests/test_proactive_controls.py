"""The proactive controls as plain functions: where each value comes from, and validating an update."""

from datetime import time

import pytest

from apps.conversations.proactive_controls import CONTROL_NAMES, PLATFORM_DEFAULTS, controls_resolve, controls_validate
from apps.core.errors import ValidationFailed


def test_each_control_comes_from_the_session_then_the_character_then_the_default():
    resolved = controls_resolve(
        overrides={"daily_initiate_cap": 5, "proactivity_tolerance": None},
        thresholds={"daily_initiate_cap": 1, "proactivity_tolerance": 0.9, "selfie_comfort": 0.3},
    )
    assert resolved.values["daily_initiate_cap"] == 5
    assert resolved.sources["daily_initiate_cap"] == "session"
    assert (resolved.proactivity_tolerance, resolved.sources["proactivity_tolerance"]) == (0.9, "character")
    assert resolved.values["min_gap_between_initiate_minutes"] == PLATFORM_DEFAULTS["min_gap_between_initiate_minutes"]
    assert resolved.sources["min_gap_between_initiate_minutes"] == "default"
    assert set(resolved.values) == set(CONTROL_NAMES)  # other thresholds are not controls


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("proactivity_tolerance", 1.01),
        ("proactivity_tolerance", -0.1),
        ("cold_initiate_min_idle_minutes", 4),
        ("cold_initiate_min_idle_minutes", 1441),
        ("session_resume_min_idle_minutes", -1),
        ("session_resume_max_unanswered_character_turns", 21),
        ("min_gap_between_initiate_minutes", 1441),
        ("daily_initiate_cap", 51),
        ("cold_initiate_enabled", "yes"),
        ("timezone", "Mars/Olympus_Mons"),
        ("proactive_enabled", None),
    ],
)
def test_out_of_range_controls_are_refused_naming_the_field(field, value):
    with pytest.raises(ValidationFailed) as raised:
        controls_validate({"session_resume_enabled": True, field: value})
    assert list(raised.value.fields) == [field]


def test_quiet_hours_must_be_clock_times_and_unknown_fields_are_named():
    with pytest.raises(ValidationFailed) as raised:
        controls_validate({"quiet_hours": {"start": "25:00", "end": "7:00"}, "daily_cap": 1})
    assert sorted(raised.value.fields) == ["daily_cap", "quiet_hours.end", "quiet_hours.start"]
    valid = controls_validate({"quiet_hours": {"start": "22:30", "end": "07:00"}, "timezone": "Asia/Seoul"})
    assert valid == {"quiet_hours": {"start": time(22, 30), "end": time(7, 0)}, "timezone": "Asia/Seoul"}
