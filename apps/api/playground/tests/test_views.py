"""The playground's page and JSON views: who may use them (anonymous, non-staff, unbound staff, staff bound to one
app, superusers), another app's ids looking absent, CSRF on the POSTs, and the turns they start (a conversation's
through the worker, an NPC's synchronously) with the prompt context of a reply."""

import json
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.characters import selectors as characters_selectors
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

BASE = "/playground/"


@pytest.fixture
def app_a(db):
    app = accounts_services.app_create(name="App A")
    character_publish(app, slug="luna", display_name="Luna", greeting="Hi, I'm Luna.")
    return app


@pytest.fixture
def app_b(db):
    app = accounts_services.app_create(name="App B")
    character_publish(app, slug="vega", display_name="Vega", greeting="Vega here.")
    return app


def _client(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_a(app_a):
    user = get_user_model().objects.create_user("staff-a", password="pw", is_staff=True)
    accounts_services.app_staff_bind(user=user, app=app_a)
    return user


def _post(client: Client, path: str, body: dict, **extra):
    return client.post(BASE + path, json.dumps(body), content_type="application/json", **extra)


def _character_id(app, slug: str) -> str:
    return characters_selectors.character_get(app=app, slug=slug).id


def _open(client: Client, app, slug: str = "luna", ref: str = "user-1"):
    return _post(client, f"apps/{app.id}/sessions", {"character_id": _character_id(app, slug), "end_user_ref": ref})


def _detail(response) -> dict:
    return response.json()["detail"]


# -- who may use it ------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_admin_login_and_the_json_views_answer_401(client, app_a):
    page = client.get(BASE)
    assert page.status_code == 302 and page["Location"] == "/admin/login/?next=/playground/"
    cast = client.get(f"{BASE}apps/{app_a.id}/cast")
    assert cast.status_code == 401 and _detail(cast)["code"] == "not_signed_in" and _detail(cast)["fix"]
    sent = _open(client, app_a)
    assert sent.status_code == 401 and Session.objects.count() == 0


@pytest.mark.parametrize("is_staff", [False, True], ids=["not staff", "staff bound to no app"])
def test_users_who_are_neither_superusers_nor_bound_staff_are_refused(app_a, is_staff):
    user = get_user_model().objects.create_user("someone", password="pw", is_staff=is_staff)
    client = _client(user)
    page = client.get(BASE)
    assert page.status_code == 403 and "superusers and for staff bound to an app" in page.content.decode()
    cast = client.get(f"{BASE}apps/{app_a.id}/cast")
    assert cast.status_code == 403 and _detail(cast)["code"] == "playground_not_allowed"
    opened = _open(client, app_a)
    assert opened.status_code == 403 and Session.objects.count() == 0


def test_the_page_offers_a_superuser_every_app_and_bound_staff_their_own(superuser, staff_a, app_a, app_b):
    everything = _client(superuser).get(BASE)
    assert everything.status_code == 200
    assert [app.id for app in everything.context["apps"]] == [app_a.id, app_b.id]
    html = everything.content.decode()
    assert 'id="pg-cast"' in html and 'src="/static/playground/playground.js"' in html and "csrfmiddlewaretoken" in html
    assert everything.context["end_user_ref"] == "playground:root"

    own = _client(staff_a).get(BASE)
    assert [app.id for app in own.context["apps"]] == [app_a.id]
    assert "App B" not in own.content.decode()


def test_bound_staff_see_their_apps_cast_and_another_apps_ids_look_absent(staff_a, app_a, app_b):
    client = _client(staff_a)
    npc = npcs_services.npc_save(app=app_a, body=scenario_body())
    cast = client.get(f"{BASE}apps/{app_a.id}/cast")
    assert cast.status_code == 200
    body = cast.json()
    assert body["app"] == {"id": app_a.id, "name": "App A"}
    assert {row["slug"] for row in body["characters"]} >= {"luna"}
    assert body["npcs"] == [{"id": npc.id, "name": "Gatekeeper", "character_slug": npc.character.slug}]

    foreign = client.get(f"{BASE}apps/{app_b.id}/cast")
    assert foreign.status_code == 404 and _detail(foreign)["code"] == "app_not_found"
    # another app's character named under their own app, or under the other app
    under_own = _post(
        client, f"apps/{app_a.id}/sessions", {"character_id": _character_id(app_b, "vega"), "end_user_ref": "u"}
    )
    assert under_own.status_code == 404 and _detail(under_own)["code"] == "character_not_found"
    under_other = _open(client, app_b, "vega")
    assert under_other.status_code == 404 and _detail(under_other)["code"] == "app_not_found"
    assert Session.objects.count() == 0


def test_bound_staff_cannot_touch_another_apps_session(staff_a, superuser, app_a, app_b):
    foreign = _open(_client(superuser), app_b, "vega").json()["session"]["id"]
    client = _client(staff_a)
    events_before = Event.objects.count()
    for path in ("messages", "stream-token"):
        response = _post(client, f"apps/{app_a.id}/sessions/{foreign}/{path}", {"text": "hello"})
        assert response.status_code == 404 and _detail(response)["code"] == "session_not_found", path
        response = _post(client, f"apps/{app_b.id}/sessions/{foreign}/{path}", {"text": "hello"})
        assert response.status_code == 404 and _detail(response)["code"] == "app_not_found", path
    context = client.get(f"{BASE}apps/{app_a.id}/sessions/{foreign}/runs/run_x/context")
    assert context.status_code == 404 and _detail(context)["code"] == "session_not_found"
    assert Event.objects.count() == events_before and Run.objects.count() == 0


def test_a_superuser_plays_in_any_app(superuser, app_a, app_b):
    client = _client(superuser)
    for app, slug in ((app_a, "luna"), (app_b, "vega")):
        assert client.get(f"{BASE}apps/{app.id}/cast").status_code == 200
        opened = _open(client, app, slug)
        assert opened.status_code == 201, opened.content
        assert Session.objects.get(pk=opened.json()["session"]["id"]).app_id == app.id


# -- CSRF ----------------------------------------------------------------------------------------------------


def test_the_posts_need_the_csrf_token(staff_a, app_a):
    client = _client(staff_a, csrf=True)
    refused = _open(client, app_a)
    assert refused.status_code == 403 and Session.objects.count() == 0
    token = str(client.get(BASE).context["csrf_token"])
    body = {"character_id": _character_id(app_a, "luna"), "end_user_ref": "user-1"}
    accepted = _post(client, f"apps/{app_a.id}/sessions", body, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


# -- opening sessions and sending ----------------------------------------------------------------------------


def test_opening_starts_the_end_users_session_once_and_answers_its_stream_and_emotion(staff_a, app_a):
    client = _client(staff_a)
    first = _open(client, app_a)
    assert first.status_code == 201, first.content
    body = first.json()
    session = Session.objects.get()
    assert body["session"] == {
        "id": session.id,
        "kind": "chat",
        "character": {"id": session.character_id, "slug": "luna", "display_name": "Luna"},
        "end_user_ref": "user-1",
        "last_cursor": 1,
    }
    assert body["npc"] is None
    emotion = body["emotion"]
    assert emotion["discrete_emotion"]["primary"] and set(emotion["emotion"]) == {"V", "A", "D"}
    assert isinstance(emotion["intensity"], float) and isinstance(emotion["trust"], float) and emotion["turns"] == 0
    path, _, query = body["stream_url"].partition("?")
    assert path == f"/v1/sessions/{session.id}/events/stream" and "since=0" in query
    token = parse_qs(query)["token"][0]
    assert accounts_selectors.stream_token_app(token=token, session_id=session.id, kind="session") == app_a

    again = _open(client, app_a)  # the same end-user resumes the same conversation
    assert again.json()["session"]["id"] == session.id and Session.objects.count() == 1
    other_user = _open(client, app_a, ref="user-2")
    assert other_user.json()["session"]["id"] != session.id


def test_a_message_runs_a_real_turn_and_its_reply_offers_the_prompt_context(
    staff_a, app_a, announced, django_capture_on_commit_callbacks
):
    client = _client(staff_a)
    session_id = _open(client, app_a).json()["session"]["id"]
    with django_capture_on_commit_callbacks(execute=True):  # the turn runs inline once the send commits
        sent = _post(client, f"apps/{app_a.id}/sessions/{session_id}/messages", {"text": "You are wonderful!"})
    assert sent.status_code == 202, sent.content
    body = sent.json()
    run = Run.objects.get()
    assert body == {"kind": "chat", "run_ref": run.id, "cursor": 2}
    assert run.status == "succeeded"
    types = [(event["event_type"], event["role"]) for event in announced]
    assert ("message.created", "user") in types and ("message.created", "character") in types
    assert ("emotion.updated", "character") in types

    context = client.get(f"{BASE}apps/{app_a.id}/sessions/{session_id}/runs/{run.id}/context")
    assert context.status_code == 200
    data = context.json()
    assert (data["run_id"], data["status"], data["context"]) == (run.id, "succeeded", run.context)
    assert data["context"]["parts"] and data["context"]["budget"]["used"] > 0
    missing = client.get(f"{BASE}apps/{app_a.id}/sessions/{session_id}/runs/run_nope/context")
    assert missing.status_code == 404 and _detail(missing)["code"] == "run_not_found"


def test_invalid_requests_write_nothing(staff_a, app_a):
    client = _client(staff_a)
    both = _post(client, f"apps/{app_a.id}/sessions", {"character_id": "c", "npc_id": "n", "end_user_ref": "u"})
    assert both.status_code == 422 and _detail(both)["code"] == "validation_error" and "body" in _detail(both)["fields"]
    no_ref = _post(client, f"apps/{app_a.id}/sessions", {"character_id": _character_id(app_a, "luna")})
    assert no_ref.status_code == 422 and "end_user_ref" in _detail(no_ref)["fields"]
    not_json = client.post(f"{BASE}apps/{app_a.id}/sessions", "nope", content_type="application/json")
    assert not_json.status_code == 422
    assert Session.objects.count() == 0
    session_id = _open(client, app_a).json()["session"]["id"]
    events = Event.objects.count()
    empty = _post(client, f"apps/{app_a.id}/sessions/{session_id}/messages", {"text": ""})
    assert empty.status_code == 422 and "text" in _detail(empty)["fields"]
    assert Event.objects.count() == events and Run.objects.count() == 0
    assert client.get(f"{BASE}apps/{app_a.id}/sessions").status_code == 405


def test_a_fresh_stream_url_resumes_after_a_cursor(staff_a, app_a):
    client = _client(staff_a)
    session_id = _open(client, app_a).json()["session"]["id"]
    fresh = client.post(f"{BASE}apps/{app_a.id}/sessions/{session_id}/stream-token?since=7")
    assert fresh.status_code == 200 and "since=7" in fresh.json()["stream_url"]
    bad = client.post(f"{BASE}apps/{app_a.id}/sessions/{session_id}/stream-token?since=-1")
    assert bad.status_code == 422 and "since" in _detail(bad)["fields"]


# -- NPC scenarios -------------------------------------------------------------------------------------------


def test_an_npc_scenario_shows_its_state_and_score_and_answers_each_message(
    staff_a, app_a, announced, django_capture_on_commit_callbacks
):
    npc = npcs_services.npc_save(app=app_a, body=scenario_body())
    client = _client(staff_a)
    opened = _post(client, f"apps/{app_a.id}/sessions", {"npc_id": npc.id, "end_user_ref": "player-1"})
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["session"]["kind"] == "npc"
    assert body["npc"] == {"npc_id": npc.id, "machine": "The gate", "state_key": "start", "score": 0, "outcome": None,
                           "decision": None}  # fmt: skip
    session_id = body["session"]["id"]

    with django_capture_on_commit_callbacks(execute=True):  # the turn's events are announced after commit
        sent = _post(client, f"apps/{app_a.id}/sessions/{session_id}/messages", {"text": "hello there"})
    assert sent.status_code == 200, sent.content
    assert sent.json()["kind"] == "npc" and sent.json()["reply"]
    assert sent.json()["npc"] | {"decision": None} == body["npc"] | {"state_key": "trust", "score": 2}
    assert any(event["event_type"] == "npc.state_changed" for event in announced)
    assert Run.objects.count() == 0  # NPC turns are synchronous: no run

    resumed = _post(client, f"apps/{app_a.id}/sessions", {"npc_id": npc.id, "end_user_ref": "player-1"}).json()
    assert resumed["session"]["id"] == session_id and resumed["npc"]["state_key"] == "trust"
    restarted = _post(
        client, f"apps/{app_a.id}/sessions", {"npc_id": npc.id, "end_user_ref": "player-1", "restart": True}
    )
    assert restarted.json()["session"]["id"] != session_id and restarted.json()["npc"]["state_key"] == "start"
