"""/emotion/v1/persona (create, list, get, delete) and /presets, as molroo defines them."""

import json
from datetime import datetime

import pytest

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan
from apps.api.emotion.tests.conftest import assert_error
from apps.personas.models import PersonaRelationship, PersonaSession, ProactiveAction

PRESETS = {"cheerful_companion", "stoic_mentor", "anxious_helper", "playful_trickster", "empathetic_listener"}
CUSTOM = {
    "identity": {
        "name": "Sera",
        "role": "barista",
        "core_values": ["kindness"],
        "speaking_style": "warm",
        "language": "en",
    },
    "personality": {"O": 0.7, "C": 0.6, "E": 0.8, "A": 0.9, "N": 0.3, "H": 0.8},
    "goals": ["make regulars feel at home"],
}


def test_create_from_preset(api, owner):
    response = api.post("/emotion/v1/persona", {"preset": "cheerful_companion"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"sessionId", "persona", "config", "createdAt"}
    assert body["sessionId"].startswith("ses_")
    assert datetime.fromisoformat(body["createdAt"])
    assert body["persona"]["preset"] == "cheerful_companion"
    traits = body["persona"]["personality"]
    assert (traits["E"], traits["A"]) == (0.8, 0.7)
    assert traits["H"] == 0.5  # the preset page is Big Five only: H gets the neutral default
    assert len(traits["facets"]) == 24
    assert {"baseline", "decay_rates", "regulation", "overflow_threshold"} <= set(body["config"])
    row = PersonaSession.objects.get(pk=body["sessionId"])
    assert row.app == owner.api_key.app and row.preset == "cheerful_companion" and row.turn_count == 0


def test_custom_persona_and_preset_overrides(api):
    custom = api.post("/emotion/v1/persona", CUSTOM, format="json").json()
    assert custom["persona"]["identity"]["name"] == "Sera"
    assert custom["persona"]["personality"]["H"] == 0.8
    assert custom["persona"]["goals"] == ["make regulars feel at home"]
    mixed = api.post(
        "/emotion/v1/persona",
        {"preset": "stoic_mentor", "personality": {"N": 0.9}, "emotion_config": {"sensitivity": 1.7}},
        format="json",
    ).json()
    assert mixed["persona"]["personality"]["N"] == 0.9  # the custom field wins
    assert mixed["persona"]["personality"]["C"] == 0.85  # the rest is the preset's
    assert mixed["config"]["sensitivity"] == 1.7


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"preset": "no_such_preset"}, "INVALID_PRESET", None),
        ({"personality": {"O": 0.5, "C": 0.5, "E": 0.5, "A": 0.5}}, "VALIDATION_ERROR", ["personality.N"]),
        ({"personality": {**CUSTOM["personality"], "N": 1.5}}, "VALIDATION_ERROR", ["personality.N"]),
        ({"preset": "stoic_mentor", "emotion_config": {"sensitivity": "high"}}, "VALIDATION_ERROR", None),
        ([1, 2], "VALIDATION_ERROR", ["body"]),
    ],
)
def test_create_refuses_bad_bodies_and_writes_nothing(api, nothing_written, body, code, fields):
    with nothing_written():
        response = api.post("/emotion/v1/persona", body, format="json")
    assert_error(response, 400, code, fields=fields)


def test_invalid_json_is_a_validation_error(api, nothing_written):
    with nothing_written():
        response = api.post("/emotion/v1/persona", "{not json", content_type="application/json")
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("authenticated", [True, False])
def test_a_body_over_the_limit_is_413_in_molroos_shape(api, anon, settings, nothing_written, authenticated):
    settings.REQUEST_MAX_BYTES = 1024
    body = json.dumps({"preset": "stoic_mentor", "padding": "x" * 2000})
    with nothing_written():
        response = (api if authenticated else anon).post("/emotion/v1/persona", body, content_type="application/json")
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert "1024" in error["message"]
    assert "detail" not in response.json()  # not the native envelope


def test_a_body_django_refuses_while_parsing_is_413_too(api, settings, nothing_written):
    # The middleware trusts the declared length; Django's own limit catches a body it reads past its limit.
    settings.REQUEST_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000, 1024
    body = json.dumps({"preset": "stoic_mentor", "padding": "x" * 2000})
    with nothing_written():
        response = api.post("/emotion/v1/persona", body, content_type="application/json")
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("header", [None, "Bearer drm_nope_nope", "Basic abc"])
def test_every_endpoint_wants_a_key(anon, nothing_written, header, persona):
    if header:
        anon.credentials(HTTP_AUTHORIZATION=header)
    with nothing_written():
        for method, path in [
            ("post", "/emotion/v1/persona"),
            ("get", "/emotion/v1/persona"),
            ("get", f"/emotion/v1/persona/{persona}"),
            ("delete", f"/emotion/v1/persona/{persona}"),
            ("get", "/emotion/v1/presets"),
            ("post", "/emotion/v1/turn"),
            ("post", "/emotion/v1/turn/appraisal"),
            ("get", f"/emotion/v1/state/{persona}"),
            ("get", f"/emotion/v1/proactive/{persona}"),
            ("put", f"/emotion/v1/proactive/{persona}/preferences"),
            ("post", f"/emotion/v1/webhook/{persona}"),
            ("get", f"/emotion/v1/webhook/{persona}"),
        ]:
            response = getattr(anon, method)(
                path, {"preset": "stoic_mentor"} if method != "get" else None, format="json"
            )
            assert_error(response, 401, "UNAUTHORIZED")
            assert response["WWW-Authenticate"].startswith("Bearer")


def test_list_is_cursor_paged_newest_first_and_per_app(api, other_api):
    created = [api.post("/emotion/v1/persona", {"preset": "anxious_helper"}, format="json").json() for _ in range(5)]
    other_api.post("/emotion/v1/persona", {"preset": "anxious_helper"}, format="json")
    seen, cursor = [], None
    while True:
        response = api.get("/emotion/v1/persona", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"sessions", "cursor"}
        seen += body["sessions"]
        cursor = body["cursor"]
        if cursor is None:
            break
    assert [s["sessionId"] for s in seen] == [c["sessionId"] for c in reversed(created)]
    assert seen[0]["preset"] == "anxious_helper" and seen[0]["turnCount"] == 0
    assert len(api.get("/emotion/v1/persona").json()["sessions"]) == 5  # default limit 20


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": ""}, {"cursor": "garbage"}])
def test_list_refuses_bad_queries(api, query):
    assert_error(api.get("/emotion/v1/persona", query), 400, "VALIDATION_ERROR")


def test_get_and_delete(api, persona):
    detail = api.get(f"/emotion/v1/persona/{persona}").json()
    assert detail["sessionId"] == persona and detail["persona"]["preset"] == "cheerful_companion"
    assert detail["turnCount"] == 0 and detail["proactive"]["enabled"] is False
    api.post("/emotion/v1/turn", {"sessionId": persona, "message": "hello!"}, format="json")
    response = api.delete(f"/emotion/v1/persona/{persona}")
    assert response.status_code == 200 and response.json() == {"deleted": True, "id": persona}
    assert not PersonaSession.objects.filter(pk=persona).exists()
    assert not PersonaRelationship.objects.filter(session_id=persona).exists()
    assert not ProactiveAction.objects.filter(session_id=persona).exists()
    assert_error(api.get(f"/emotion/v1/persona/{persona}"), 404, "NOT_FOUND")
    assert_error(api.delete(f"/emotion/v1/persona/{persona}"), 404, "NOT_FOUND")


def test_another_apps_session_is_not_found(api, other_api, persona, nothing_written):
    with nothing_written():
        for method, path, body in [
            ("get", f"/emotion/v1/persona/{persona}", None),
            ("delete", f"/emotion/v1/persona/{persona}", None),
            ("post", "/emotion/v1/turn", {"sessionId": persona, "message": "hi"}),
            ("post", "/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": APPRAISAL}),
            ("get", f"/emotion/v1/state/{persona}", None),
            ("get", f"/emotion/v1/proactive/{persona}", None),
            ("put", f"/emotion/v1/proactive/{persona}/preferences", {"enabled": True}),
            (
                "post",
                f"/emotion/v1/webhook/{persona}",
                {"url": "https://example.com/h", "secret": "s" * 24, "events": ["stage_transition"]},
            ),
            ("get", f"/emotion/v1/webhook/{persona}", None),
        ]:
            response = getattr(other_api, method)(path, body, format="json")
            assert_error(response, 404, "NOT_FOUND")
    assert other_api.get("/emotion/v1/persona").json()["sessions"] == []


APPRAISAL = {
    "goal_relevance": 0.8,
    "goal_congruence": 0.9,
    "expectedness": 0.5,
    "controllability": 0.6,
    "agency": -0.5,
    "norm_compatibility": 0.7,
}


def test_presets_lists_the_five(api):
    response = api.get("/emotion/v1/presets")
    assert response.status_code == 200
    presets = response.json()
    assert isinstance(presets, list) and {p["id"] for p in presets} == PRESETS
    for preset in presets:
        assert set(preset) >= {"id", "name", "description", "personality", "goals", "emotion_config"}
        assert set(preset["personality"]) >= {"O", "C", "E", "A", "N"}
    by_id = {p["id"]: p for p in presets}
    assert by_id["stoic_mentor"]["personality"]["N"] == 0.15 and by_id["stoic_mentor"]["personality"]["C"] == 0.85


def test_unknown_paths_and_methods_answer_in_molroo_shape(api):
    assert_error(api.get("/emotion/v1/nope"), 404, "NOT_FOUND")
    assert_error(api.put("/emotion/v1/presets", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_rate_limit_per_key_from_the_apps_plan(api, other_api, owner, other):
    plan = Plan.objects.create(slug="two-a-minute", name="Two", requests_per_minute=2)
    for issued in (owner, other):
        accounts_services.app_plan_set(app=issued.api_key.app, plan=plan)
    assert api.get("/emotion/v1/presets").status_code == 200
    assert api.get("/emotion/v1/presets").status_code == 200
    response = api.get("/emotion/v1/presets")
    assert_error(response, 429, "RATE_LIMIT")
    assert 55 <= int(response["Retry-After"]) <= 60  # the first request leaves the window a minute after it came
    assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("2", "0")
    assert other_api.get("/emotion/v1/presets").status_code == 200  # per key
