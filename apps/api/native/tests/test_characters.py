"""POST/GET/PATCH /v1/characters, versions, readiness and the dry-run validator."""

import json

import pytest
from django.db import IntegrityError, transaction

from apps.api.native.tests.contract import assert_error
from apps.characters.models import Character, CharacterVersion

RICH = {
    "slug": "mira",
    "display_name": "Mira",
    "locale": "en-US",
    "profile": {
        "visible_bio": "Night-shift nurse who paints on her days off.",
        "visible_interests": ["painting", "jazz"],
        "identity_anchors": {"hair": "short black bob", "eyes": "green"},
        "city": "Lisbon",
    },
    "voice_samples": ["ugh, twelve-hour shift.", "ok but hear me out", "did you eat yet?"],
    "greeting": "hey, you're up late too?",
    "onboarding": [{"step": "ask their name"}],
    "character_direction": {"goal": "open a small gallery"},
    "life_template": "weekdays at the hospital, weekends at the studio",
    "story_engine": {"pace": "slow"},
    "world_model_seed": [{"fact": "has a cat named Tofu"}],
    "arc_seeds": ["the gallery application"],
    "relationship_seed": {"stage": "strangers"},
    "emotion_baseline": {"valence": 0.3, "arousal": -0.1},
    "behavioral_thresholds": {"proactivity_tolerance": 0.4, "daily_initiate_cap": 3},
    "forbidden_style": ["corporate speak"],
}


def _post(api, body):
    return api.post("/v1/characters", body, format="json")


def test_minimal_post_returns_the_seed_shape(api, owner):
    response = _post(api, {"slug": "luna", "display_name": "Luna"})
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] == "v0"
    data = body["data"]
    assert data["character_id"].startswith("char_")
    assert (data["slug"], data["display_name"], data["status"], data["version_number"]) == (
        "luna",
        "Luna",
        "published",
        1,
    )
    assert data["created"] is True
    assert data["dropped_fields"] == []
    readiness = data["authoring_readiness"]
    assert readiness["status"] == "needs_work" and readiness["total"] == 13 and readiness["score"] == 0
    commands = [a["command"] for a in body["next_actions"]]
    assert commands[0] == 'POST /v1/sessions {"character": "luna", "external_user_ref": "<your-user-id>"}'
    character = Character.objects.get(slug="luna")
    assert character.app == owner.api_key.app and character.current_version.content["locale"] == "en-US"


def test_identical_repost_keeps_the_version(api):
    first = _post(api, RICH).json()["data"]
    again = _post(api, RICH)
    assert again.status_code == 200
    data = again.json()["data"]
    assert (data["version_number"], data["created"], data["character_id"]) == (1, False, first["character_id"])
    assert CharacterVersion.objects.count() == 1


def test_changed_content_publishes_the_next_immutable_version(api):
    _post(api, {"slug": "luna", "display_name": "Luna", "greeting": "hi"})
    response = _post(api, {"slug": "luna", "display_name": "Luna Moon", "greeting": "hello there"})
    assert response.status_code == 201
    assert response.json()["data"]["version_number"] == 2
    assert response.json()["data"]["display_name"] == "Luna Moon"
    versions = api.get("/v1/characters/luna/versions")
    assert versions.status_code == 200
    listed = versions.json()["data"]["versions"]
    assert [(v["version_number"], v["is_current"]) for v in listed] == [(2, True), (1, False)]
    assert listed[1]["content"]["greeting"] == "hi"  # v1 unchanged
    assert listed[0]["content"]["greeting"] == "hello there"
    assert listed[0]["content_hash"] != listed[1]["content_hash"]


def test_a_slug_belongs_to_its_app_and_is_free_in_another(api, other_api, owner, other):
    theirs = _post(other_api, {"slug": "luna", "display_name": "Their Luna", "greeting": "hi from them"})
    mine = _post(api, {"slug": "luna", "display_name": "My Luna"})
    assert (theirs.status_code, mine.status_code) == (201, 201), mine.content[:300]
    assert mine.json()["data"]["character_id"] != theirs.json()["data"]["character_id"]
    assert (mine.json()["data"]["version_number"], mine.json()["data"]["dropped_fields"]) == (1, [])
    # each app's re-post publishes its own next version and leaves the other's alone
    assert _post(api, {"slug": "luna", "display_name": "My Luna v2"}).json()["data"]["version_number"] == 2
    assert api.get("/v1/characters/luna").json()["data"]["display_name"] == "My Luna v2"
    assert other_api.get("/v1/characters/luna").json()["data"]["content"] == {
        "slug": "luna",
        "display_name": "Their Luna",
        "greeting": "hi from them",
        "locale": "en-US",
    }
    assert [v["version_number"] for v in other_api.get("/v1/characters/luna/versions").json()["data"]["versions"]] == [
        1
    ]
    owners = dict(Character.objects.filter(slug="luna").values_list("app_id", "display_name"))
    assert owners == {owner.api_key.app_id: "My Luna v2", other.api_key.app_id: "Their Luna"}


def test_the_database_refuses_a_second_character_with_the_same_slug_in_one_app(owner, other):
    app = owner.api_key.app
    Character.objects.create(app=app, slug="luna", display_name="Luna")
    Character.objects.create(app=other.api_key.app, slug="luna", display_name="Luna")  # another app: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Character.objects.create(app=app, slug="luna", display_name="Luna again")


def test_a_repost_names_the_fields_it_dropped(api):
    created = _post(api, RICH).json()["data"]
    assert created["dropped_fields"] == []
    trimmed = {key: value for key, value in RICH.items() if key not in {"greeting", "arc_seeds", "profile"}}
    response = _post(api, trimmed)
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["version_number"], data["dropped_fields"]) == (2, ["arc_seeds", "greeting", "profile"])
    assert "greeting" not in api.get("/v1/characters/mira").json()["data"]["content"]
    again = _post(api, trimmed).json()["data"]  # identical: nothing published, nothing dropped
    assert (again["version_number"], again["created"], again["dropped_fields"]) == (2, False, [])


def test_missing_key_writes_nothing(anon, nothing_written):
    with nothing_written():
        response = _post(anon, {"slug": "luna", "display_name": "Luna"})
    assert_error(response, 401, "missing_api_key")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"behavioral_thresholds": {"proactivity_tolerance": 1.5}}, ["behavioral_thresholds.proactivity_tolerance"]),
        ({"behavioral_thresholds": {"daily_initiate_cap": 51}}, ["behavioral_thresholds.daily_initiate_cap"]),
        ({"behavioral_thresholds": "often"}, ["behavioral_thresholds"]),
        ({"emotion_baseline": {"valence": -2}}, ["emotion_baseline.valence"]),
        ({"display_name": "x" * 121}, ["display_name"]),
        ({"display_name": ""}, ["display_name"]),
        ({"display_name": 42}, ["display_name"]),
        ({"slug": "luna moon"}, ["slug"]),
        ({"slug": "x" * 129}, ["slug"]),
        ({"locale": "e"}, ["locale"]),
        ({"voice_samples": "hi there"}, ["voice_samples"]),
        ({"voice_samples": ["ok", 7]}, ["voice_samples[1]"]),
        ({"profile": ["bio"]}, ["profile"]),
        ({"greeting": {"text": "hi"}}, ["greeting"]),
        ({"personalty": "shy"}, ["personalty"]),  # a typo of a field: refused, not dropped
        ({"profile": {"visible_bio": "a\x00b"}}, ["profile.visible_bio"]),  # PostgreSQL jsonb cannot store it
        ({"onboarding": [{"step": ["ok", "\x00"]}]}, ["onboarding[0].step[1]"]),
        ({"display_name": "Lu\x00na"}, ["display_name"]),
        ({"slug": "bad slug", "display_name": "", "mood": 1}, ["slug", "display_name", "mood"]),
    ],
)
def test_invalid_content_is_422_naming_the_fields(api, nothing_written, change, fields):
    body = {"slug": "luna", "display_name": "Luna", **change}
    with nothing_written():
        response = _post(api, body)
    assert_error(response, 422, "validation_error", fields=fields)


def test_required_fields_are_named_when_missing(api, nothing_written):
    with nothing_written():
        response = _post(api, {})
    assert_error(response, 422, "validation_error", fields=["slug", "display_name"])


def test_body_that_is_not_an_object_is_422(api, nothing_written):
    with nothing_written():
        response = api.post("/v1/characters", ["luna"], format="json")
    assert_error(response, 422, "validation_error", fields=["body"])


def test_all_authoring_fields_are_stored(api):
    _post(api, RICH)
    content = api.get("/v1/characters/mira").json()["data"]["content"]
    for field, value in RICH.items():
        assert content[field] == value, field
    # unknown behavioral threshold keys are kept as authored
    _post(api, {**RICH, "behavioral_thresholds": {"proactivity_tolerance": 0.4, "custom_knob": "x"}})
    stored = api.get("/v1/characters/mira").json()["data"]["content"]["behavioral_thresholds"]
    assert stored == {"proactivity_tolerance": 0.4, "custom_knob": "x"}


def test_list_and_detail(api, other_api):
    _post(api, {"slug": "b-char", "display_name": "B"})
    _post(api, {"slug": "a-char", "display_name": "A"})
    _post(other_api, {"slug": "c-char", "display_name": "C"})
    response = api.get("/v1/characters")
    assert response.status_code == 200
    body = response.json()
    assert [c["slug"] for c in body["data"]["characters"]] == ["a-char", "b-char"]
    assert body["next_actions"]
    detail = api.get("/v1/characters/a-char")
    assert detail.status_code == 200
    data = detail.json()["data"]
    assert data["slug"] == "a-char" and data["version_number"] == 1 and data["content"]["display_name"] == "A"
    assert detail.json()["next_actions"]
    assert_error(api.get("/v1/characters/nobody"), 404, "character_not_found")
    assert_error(api.get("/v1/characters/nobody/versions"), 404, "character_not_found")


def test_readiness_endpoint_scores_thirteen_checks(api):
    _post(api, RICH)
    response = api.get("/v1/characters/mira/readiness")
    assert response.status_code == 200
    data = response.json()["data"]
    keys = [check["key"] for check in data["checks"]]
    assert keys == [
        "profile.visible_bio",
        "profile.visible_interests",
        "profile.identity_anchors",
        "voice_samples",
        "greeting",
        "onboarding",
        "character_direction",
        "life_template",
        "story_engine",
        "world_model_seed",
        "arc_seeds",
        "relationship_seed",
        "emotion_baseline",
    ]
    assert all(check["passed"] for check in data["checks"])
    assert (data["status"], data["score"], data["passed"], data["total"], data["warnings"]) == (
        "ready",
        100,
        13,
        13,
        [],
    )
    assert_error(api.get("/v1/characters/nobody/readiness"), 404, "character_not_found")


def test_readiness_warns_about_unknown_profile_keys(api):
    body = {**RICH, "profile": {**RICH["profile"], "favourite_colour": "teal"}}
    data = _post(api, body).json()["data"]["authoring_readiness"]
    assert data["score"] == 100
    assert data["status"] == "needs_work"  # a warning keeps it from "ready"
    assert [w["code"] for w in data["warnings"]] == ["profile_unknown_keys"]
    assert "favourite_colour" in data["warnings"][0]["message"]


def test_readiness_counts_partial_content(api):
    body = {"slug": "luna", "display_name": "Luna", "greeting": "hi", "voice_samples": ["a", "b"]}
    data = _post(api, body).json()["data"]["authoring_readiness"]
    passed = {check["key"] for check in data["checks"] if check["passed"]}
    assert passed == {"greeting"}  # two voice samples are not enough
    assert data["score"] == round(100 / 13) and data["passed"] == 1
    failing = [check for check in data["checks"] if not check["passed"]]
    assert all(isinstance(check["fix"], str) and check["fix"] for check in failing)
    # a passing check carries no fix text: there is nothing to do
    assert [check["fix"] for check in data["checks"] if check["passed"]] == [None]


def test_validate_is_a_dry_run(api, nothing_written):
    with nothing_written():
        response = api.post("/v1/characters/validate", RICH, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["valid"] is True
    assert data["normalized"]["slug"] == "mira"
    assert data["authoring_readiness"]["status"] == "ready"
    assert response.json()["next_actions"]


def test_validate_reports_the_same_errors_and_writes_nothing(api, nothing_written):
    with nothing_written():
        response = api.post(
            "/v1/characters/validate",
            {"slug": "luna", "display_name": "Luna", "behavioral_thresholds": {"proactivity_tolerance": 1.5}},
            format="json",
        )
    assert_error(response, 422, "validation_error", fields=["behavioral_thresholds.proactivity_tolerance"])


def test_validate_needs_a_key(anon, nothing_written):
    with nothing_written():
        response = anon.post("/v1/characters/validate", RICH, format="json")
    assert_error(response, 401, "missing_api_key")


def test_a_session_follows_new_versions_unless_it_was_pinned(api):
    _post(api, {"slug": "luna", "display_name": "Luna", "greeting": "hi"})
    body = {"character": "luna", "external_user_ref": "u1"}
    following = api.post("/v1/sessions", body, format="json").json()["data"]["session_id"]
    pinned = api.post("/v1/sessions", {**body, "character_version": 1}, format="json").json()["data"]["session_id"]
    assert (
        _post(api, {"slug": "luna", "display_name": "Luna", "greeting": "hello"}).json()["data"]["version_number"] == 2
    )
    assert api.get(f"/v1/sessions/{following}").json()["data"]["character_version"] == 2
    assert api.get(f"/v1/sessions/{pinned}").json()["data"]["character_version"] == 1


def test_an_unpublished_draft_shows_as_draft(api, owner):
    Character.objects.create(app=owner.api_key.app, slug="drafty", display_name="D")  # made in the admin
    data = api.get("/v1/characters/drafty").json()["data"]
    assert (data["status"], data["version_number"], data["content"]) == ("draft", None, {})
    assert api.get("/v1/characters/drafty/versions").json()["data"]["versions"] == []


# --- PATCH /v1/characters/{slug}: a JSON Merge Patch of the current content --------------------------
def _patch(api, slug, body, **kwargs):
    return api.patch(f"/v1/characters/{slug}", body, format="json", **kwargs)


def test_patch_merges_into_the_current_content_and_publishes_the_next_version(api):
    _post(api, RICH)
    response = _patch(
        api,
        "mira",
        {
            "greeting": "back from the night shift",
            "profile": {"city": None, "occupation": "nurse"},
            "behavioral_thresholds": {"daily_initiate_cap": 5},
            "forbidden_style": None,
            "voice_samples": ["one", "two", "three", "four"],
        },
    )
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    data = body["data"]
    assert (data["version_number"], data["created"], data["dropped_fields"]) == (2, True, ["forbidden_style"])
    assert body["next_actions"][0]["command"].startswith('POST /v1/sessions {"character": "mira"')
    content = api.get("/v1/characters/mira").json()["data"]["content"]
    expected = {
        **{key: value for key, value in RICH.items() if key != "forbidden_style"},
        "greeting": "back from the night shift",
        "profile": {
            "visible_bio": RICH["profile"]["visible_bio"],
            "visible_interests": ["painting", "jazz"],
            "identity_anchors": {"hair": "short black bob", "eyes": "green"},
            "occupation": "nurse",
        },
        "behavioral_thresholds": {"proactivity_tolerance": 0.4, "daily_initiate_cap": 5},
        "voice_samples": ["one", "two", "three", "four"],
    }
    assert content == expected
    versions = api.get("/v1/characters/mira/versions").json()["data"]["versions"]
    assert [v["version_number"] for v in versions] == [2, 1]
    assert versions[1]["content"]["profile"]["city"] == "Lisbon"  # v1 is immutable


def test_patch_accepts_the_merge_patch_media_type(api):
    _post(api, {"slug": "luna", "display_name": "Luna"})
    response = api.generic(
        "PATCH",
        "/v1/characters/luna",
        json.dumps({"greeting": "hey"}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200, response.content[:300]
    assert api.get("/v1/characters/luna").json()["data"]["content"]["greeting"] == "hey"


def test_a_patch_that_changes_nothing_keeps_the_version(api, nothing_written):
    _post(api, {"slug": "luna", "display_name": "Luna", "greeting": "hi"})
    with nothing_written():
        response = _patch(api, "luna", {"greeting": "hi", "slug": "luna", "arc_seeds": None})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["version_number"], data["created"], data["dropped_fields"]) == (1, False, [])


def test_patch_of_a_never_published_character_starts_from_its_name(api, owner):
    Character.objects.create(app=owner.api_key.app, slug="drafty", display_name="Drafty")  # made in the admin
    response = _patch(api, "drafty", {"greeting": "first words"})
    assert response.status_code == 200, response.content[:300]
    data = response.json()["data"]
    assert (data["version_number"], data["status"], data["dropped_fields"]) == (1, "published", [])
    content = api.get("/v1/characters/drafty").json()["data"]["content"]
    assert content == {"slug": "drafty", "display_name": "Drafty", "greeting": "first words", "locale": "en-US"}


def test_patch_of_an_unknown_or_another_apps_slug_is_404(api, other_api, nothing_written):
    _post(other_api, {"slug": "theirs", "display_name": "Theirs", "greeting": "hi"})
    with nothing_written():
        foreign = _patch(api, "theirs", {"greeting": "taken over"})
        unknown = _patch(api, "nobody", {"greeting": "hello"})
    assert_error(foreign, 404, "character_not_found")
    assert_error(unknown, 404, "character_not_found")
    assert other_api.get("/v1/characters/theirs").json()["data"]["content"]["greeting"] == "hi"


def test_patch_needs_a_key(anon, api, nothing_written):
    _post(api, {"slug": "luna", "display_name": "Luna"})
    with nothing_written():
        response = _patch(anon, "luna", {"greeting": "hi"})
    assert_error(response, 401, "missing_api_key")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"behavioral_thresholds": {"proactivity_tolerance": 1.5}}, ["behavioral_thresholds.proactivity_tolerance"]),
        ({"display_name": None}, ["display_name"]),
        ({"display_name": ""}, ["display_name"]),
        ({"slug": "luna-two"}, ["slug"]),
        ({"slug": None}, ["slug"]),
        ({"voice_samples": ["ok", 7]}, ["voice_samples[1]"]),
        ({"personalty": "shy"}, ["personalty"]),  # a typo of a field: refused, not dropped
        ({"profile": {"visible_bio": "a\x00b"}}, ["profile.visible_bio"]),
    ],
)
def test_an_invalid_patch_is_422_naming_the_fields_and_writes_nothing(api, nothing_written, change, fields):
    _post(api, {"slug": "luna", "display_name": "Luna", "greeting": "hi"})
    with nothing_written():
        response = _patch(api, "luna", change)
    assert_error(response, 422, "validation_error", fields=fields)
    assert api.get("/v1/characters/luna").json()["data"]["content"]["greeting"] == "hi"


@pytest.mark.parametrize("body", [["greeting"], "greeting", 7])
def test_a_patch_that_is_not_an_object_is_422(api, nothing_written, body):
    _post(api, {"slug": "luna", "display_name": "Luna"})
    with nothing_written():
        response = _patch(api, "luna", body)
    assert_error(response, 422, "validation_error", fields=["body"])
