"""POST/GET /v1/sessions: creation, the greeting, detail, cursor pagination."""

import pytest
from django.utils import timezone

from apps.api.native.tests.contract import assert_error
from apps.characters.models import Character
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event, Session
from apps.conversations.tests.factories import session_start

GREETING = "hey!! you found me 🌙\n\nI'm Luna — *waves*   what's up?"


def _create(api, **body):
    return api.post("/v1/sessions", {"character": "luna", "external_user_ref": "user_123", **body}, format="json")


def test_create_returns_the_seed_shape(api, owner):
    character_publish(owner.api_key.app, slug="luna")
    response = _create(api)
    assert response.status_code == 201
    body = response.json()
    data = body["data"]
    assert data["session_id"].startswith("sess_")
    assert (data["character"], data["external_user_ref"], data["character_version"]) == ("luna", "user_123", 1)
    assert data["proactive_enabled"] is False and data["last_cursor"] == 0
    sid = data["session_id"]
    assert [a["command"] for a in body["next_actions"]][:2] == [
        f'POST /v1/sessions/{sid}/messages {{"text": "hello!"}}',
        f"GET /v1/sessions/{sid}/events?since=0",
    ]
    assert Session.objects.get(pk=sid).app == owner.api_key.app
    assert not Event.objects.filter(session_id=sid).exists()  # no greeting authored, no event


def test_proactive_enabled_is_stored(api, owner):
    character_publish(owner.api_key.app, slug="luna")
    data = _create(api, proactive_enabled=True).json()["data"]
    assert data["proactive_enabled"] is True and Session.objects.get(pk=data["session_id"]).proactive_enabled


def test_greeting_opens_the_session_unchanged(api, owner):
    character_publish(owner.api_key.app, slug="luna", greeting=GREETING)
    sid = _create(api).json()["data"]["session_id"]
    events = api.get(f"/v1/sessions/{sid}/events").json()["data"]["events"]
    assert len(events) == 1
    first = events[0]
    assert (first["cursor"], first["event_type"], first["role"]) == (1, "character.initiated", "character")
    assert first["payload"]["text"] == GREETING
    assert first["payload"]["bubbles"] == [GREETING]
    assert api.get(f"/v1/sessions/{sid}").json()["data"]["last_cursor"] == 1


def test_unknown_character_is_404_and_writes_nothing(api, nothing_written):
    with nothing_written():
        response = _create(api, character="nobody")
    assert_error(response, 404, "character_not_found")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"character": "luna"}, ["external_user_ref"]),
        ({"external_user_ref": "u1"}, ["character"]),
        ({"character": "luna", "external_user_ref": ""}, ["external_user_ref"]),
        ({"character": "luna", "external_user_ref": 123}, ["external_user_ref"]),
        ({"character": "luna", "external_user_ref": "u" * 257}, ["external_user_ref"]),
        ({"character": "luna", "external_user_ref": "u1", "proactive_enabled": "maybe"}, ["proactive_enabled"]),
        ({}, ["character", "external_user_ref"]),
    ],
)
def test_invalid_body_is_422_naming_the_fields(api, owner, nothing_written, body, fields):
    character_publish(owner.api_key.app, slug="luna")
    with nothing_written():
        response = api.post("/v1/sessions", body, format="json")
    assert_error(response, 422, "validation_error", fields=fields)


def test_character_without_a_published_version_is_409(api, owner, nothing_written):
    Character.objects.create(app=owner.api_key.app, slug="luna", display_name="Luna")  # an admin-made draft
    with nothing_written():
        response = _create(api)
    assert_error(response, 409, "character_not_published")


def test_missing_key_is_401_and_writes_nothing(anon, owner, nothing_written):
    character_publish(owner.api_key.app, slug="luna")
    with nothing_written():
        response = _create(anon)
    assert_error(response, 401, "missing_api_key")


def test_detail(api, owner):
    session = session_start(owner.api_key.app, greeting="hi")
    response = api.get(f"/v1/sessions/{session.id}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["session_id"], data["character"], data["last_cursor"], data["user_turns"]) == (
        session.id,
        "luna",
        1,
        0,
    )
    assert response.json()["next_actions"]
    assert_error(api.get("/v1/sessions/sess_doesnotexist"), 404, "session_not_found")


@pytest.fixture
def many_sessions(owner):
    app = owner.api_key.app
    character_publish(app, slug="luna")
    character_publish(app, slug="mira")
    from apps.conversations import services

    made = []
    for index in range(7):
        slug = "luna" if index % 2 == 0 else "mira"
        user = "alice" if index < 3 else "bob"
        made.append(services.session_create(app=app, character_slug=slug, external_user_ref=user).id)
    return made


def test_list_pages_with_a_cursor_without_overlap(api, many_sessions, other):
    session_start(other.api_key.app, slug="other-luna")  # another app's session never shows
    first = api.get("/v1/sessions", {"limit": 3})
    assert first.status_code == 200
    page1 = first.json()["data"]
    assert len(page1["sessions"]) == 3 and page1["next_cursor"]
    assert first.json()["next_actions"][0]["command"] == f"GET /v1/sessions?limit=3&cursor={page1['next_cursor']}"
    seen = [s["session_id"] for s in page1["sessions"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = api.get("/v1/sessions", {"limit": 3, "cursor": cursor}).json()["data"]
        seen += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 7
    assert sorted(seen) == sorted(many_sessions)
    newest_first = Session.objects.filter(pk__in=many_sessions).order_by("-created_at", "-id")
    assert seen == list(newest_first.values_list("id", flat=True))


def test_pagination_survives_identical_timestamps(api, many_sessions):
    Session.objects.filter(pk__in=many_sessions).update(created_at=timezone.now())
    seen, cursor = [], None
    while True:
        page = api.get("/v1/sessions", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()["data"]
        seen += [s["session_id"] for s in page["sessions"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sorted(many_sessions, reverse=True)


def test_list_filters(api, many_sessions):
    by_character = api.get("/v1/sessions", {"character": "mira"}).json()["data"]
    assert {s["character"] for s in by_character["sessions"]} == {"mira"} and len(by_character["sessions"]) == 3
    response = api.get("/v1/sessions", {"external_user_ref": "alice", "limit": 2}).json()
    by_user = response["data"]
    assert response["next_actions"][0]["command"] == (
        f"GET /v1/sessions?limit=2&external_user_ref=alice&cursor={by_user['next_cursor']}"
    )
    assert {s["external_user_ref"] for s in by_user["sessions"]} == {"alice"} and len(by_user["sessions"]) == 2
    rest = api.get("/v1/sessions", {"external_user_ref": "alice", "cursor": by_user["next_cursor"]}).json()["data"]
    assert len(rest["sessions"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"cursor": "garbage!!"}, ["cursor"]),
        ({"cursor": "WzFd"}, ["cursor"]),  # valid base64 of a JSON list that is not a cursor
        ({"limit": 0}, ["limit"]),
        ({"limit": 101}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
    ],
)
def test_list_bad_parameters_are_422(api, many_sessions, params, fields):
    assert_error(api.get("/v1/sessions", params), 422, "validation_error", fields=fields)


def test_list_needs_a_key(anon, db):
    assert_error(anon.get("/v1/sessions"), 401, "missing_api_key")
