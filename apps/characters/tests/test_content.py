"""The authoring schema, the content hash and readiness, as pure functions (no database)."""

import pytest

from apps.characters.content import content_hash, content_validate
from apps.characters.readiness import READY_SCORE, readiness_evaluate
from apps.core.errors import ValidationFailed

FULL = {
    "profile": {"visible_bio": "bio", "visible_interests": ["x"], "identity_anchors": {"hair": "red"}},
    "voice_samples": ["a", "b", "c"],
    "greeting": "hi",
    "onboarding": ["ask name"],
    "character_direction": "grow",
    "life_template": "routines",
    "story_engine": "slow",
    "world_model_seed": ["fact"],
    "arc_seeds": ["arc"],
    "relationship_seed": "strangers",
    "emotion_baseline": {"valence": 0.2},
}


def test_minimal_content_is_normalised():
    assert content_validate({"slug": "luna", "display_name": "Luna"}) == {
        "slug": "luna",
        "display_name": "Luna",
        "locale": "en-US",
    }


def test_errors_name_nested_paths_and_unknown_fields():
    with pytest.raises(ValidationFailed) as raised:
        content_validate(
            {
                "slug": "luna",
                "display_name": "Luna",
                "behavioral_thresholds": {"proactivity_tolerance": -0.1, "cold_initiate_min_idle_minutes": 4},
                "voice_samples": ["fine", ""],
                "favourite": "x",
            }
        )
    assert set(raised.value.fields) == {
        "behavioral_thresholds.proactivity_tolerance",
        "behavioral_thresholds.cold_initiate_min_idle_minutes",
        "voice_samples[1]",
        "favourite",
    }
    assert raised.value.code == "validation_error" and raised.value.status == 422


@pytest.mark.parametrize("value", [None, [], "luna", 3])
def test_content_must_be_an_object(value):
    with pytest.raises(ValidationFailed) as raised:
        content_validate(value)
    assert list(raised.value.fields) == ["body"]


def test_content_hash_ignores_key_order_and_sees_any_change():
    a = {"slug": "luna", "display_name": "Luna", "profile": {"a": 1, "b": 2}}
    b = {"profile": {"b": 2, "a": 1}, "display_name": "Luna", "slug": "luna"}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "profile": {"a": 1, "b": 3}})


def test_readiness_of_empty_and_full_content():
    empty = readiness_evaluate({})
    assert (empty["status"], empty["score"], empty["passed"], empty["total"]) == ("needs_work", 0, 0, 13)
    full = readiness_evaluate(FULL)
    assert (full["status"], full["score"], full["passed"], full["warnings"]) == ("ready", 100, 13, [])


def test_readiness_threshold():
    eleven = {key: value for key, value in FULL.items() if key not in ("arc_seeds", "story_engine")}
    ten = {key: value for key, value in eleven.items() if key != "greeting"}
    assert readiness_evaluate(eleven)["score"] == 85 >= READY_SCORE
    assert readiness_evaluate(eleven)["status"] == "ready"
    assert readiness_evaluate(ten)["score"] < READY_SCORE and readiness_evaluate(ten)["status"] == "needs_work"


def test_blank_values_do_not_pass_checks():
    report = readiness_evaluate({**FULL, "greeting": "   ", "onboarding": [], "character_direction": {}})
    failed = {check["key"] for check in report["checks"] if not check["passed"]}
    assert failed == {"greeting", "onboarding", "character_direction"}


def test_readiness_warnings():
    listed_anchors = {**FULL, "profile": {**FULL["profile"], "identity_anchors": ["kind"], "shoe_size": 40}}
    report = readiness_evaluate(listed_anchors)
    assert [w["code"] for w in report["warnings"]] == ["profile_unknown_keys", "identity_anchors_not_dict"]
    assert "shoe_size" in report["warnings"][0]["message"]
    assert report["status"] == "needs_work" and report["score"] == 100


def test_a_passing_check_carries_no_fix_text():
    partial = readiness_evaluate({"slug": "luna", "display_name": "Luna", "greeting": "hey, you found me!"})
    by_key = {check["key"]: check for check in partial["checks"]}
    assert by_key["greeting"] == {"key": "greeting", "passed": True, "fix": None}
    failing = [check for check in partial["checks"] if not check["passed"]]
    assert len(failing) == 12 and all(isinstance(check["fix"], str) and check["fix"] for check in failing)
    assert all(check["fix"] is None for check in readiness_evaluate(FULL)["checks"])
