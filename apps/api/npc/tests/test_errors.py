"""Every error on the NPC surface in Foil's body, ``{"error": {"code", "message"}}``, with the status the SDK
maps to its exception."""

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan
from apps.api.npc.tests.conftest import foil_client
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def _init(client, npc_id, **body):
    body = {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female", **body}
    return client.post(f"/npc/api/v1/sdk/chat/{npc_id}/init-session", body, format="json")


def test_a_missing_key_is_401_with_the_header_named():
    response = APIClient().get("/npc/api/v1/sdk/personas")
    assert _error(response, 401)["code"] == "missing_api_key"
    assert "X-API-Key" in response["WWW-Authenticate"]


def test_an_unknown_or_revoked_key_is_401(owner):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY="drm_nope_nope")
    _error(client.get("/npc/api/v1/sdk/personas"), 401)
    accounts_services.api_key_revoke(api_key=owner.api_key)
    client.credentials(HTTP_X_API_KEY=owner.raw_key)
    _error(client.get("/npc/api/v1/sdk/personas"), 401)


def test_a_bearer_header_is_not_this_surfaces_key(owner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    _error(client.get("/npc/api/v1/sdk/personas"), 401)


def test_a_missing_field_or_a_non_object_body_is_400(foil, npc):
    assert "player_name" in _error(_init(foil, npc.id, player_name=""), 400)["message"]
    _error(foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/init-session", [1], format="json"), 400)
    _error(foil.get(f"/npc/api/v1/sdk/chat/{npc.id}/session"), 400)  # no user_session_id
    _error(foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/message", {"user_session_id": "p1"}, format="json"), 400)


def test_another_apps_private_persona_and_unknown_ids_are_404(foil, other):
    theirs = npcs_services.npc_save(app=other.api_key.app, body=scenario_body())
    _error(_init(foil, theirs.id), 404)
    _error(_init(foil, "npc_missing"), 404)
    _error(foil.get(f"/npc/api/v1/sdk/chat/{theirs.id}/machines", {"user_session_id": "p1"}), 404)
    _error(foil.get("/npc/api/v1/sdk/nowhere"), 404)


def test_an_unpublished_machine_or_a_locked_one_is_403(foil, owner, npc):
    body = scenario_body()
    body["machines"][0]["is_published"] = False
    hidden = npcs_services.npc_save(app=owner.api_key.app, body=body)
    _error(_init(foil, hidden.id), 403)
    vault = next(m for m in npc.machines.all() if m.key == "vault")
    response = foil.post(
        f"/npc/api/v1/sdk/chat/{npc.id}/init-session?machine_id={vault.id}",
        {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"},
        format="json",
    )
    _error(response, 403)


def test_a_message_to_no_session_is_404_and_after_the_end_is_400(foil, npc):
    message = {"message": "hello", "user_session_id": "p1"}
    _error(foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/message", message, format="json"), 404)
    assert _init(foil, npc.id).status_code == 200
    foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/message", message, format="json")
    won = foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/message", {**message, "message": "password"}, format="json")
    assert won.json()["outcome"] == "ACCEPT"
    _error(foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/message", message, format="json"), 400)


def test_the_personas_list_is_the_keys_apps_published_ones(foil, owner, npc, other):
    body = scenario_body(name="Draft")
    for machine in body["machines"]:
        machine["is_published"] = False
    npcs_services.npc_save(app=owner.api_key.app, body=body)
    npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name="Public", is_public=True))
    response = foil.get("/npc/api/v1/sdk/personas")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == ["Gatekeeper"]
    assert set(response.json()[0]) == {"id", "name", "description", "created_at", "updated_at"}


def test_a_body_over_the_limit_is_413_in_foils_shape(foil, npc, settings):
    response = foil.post(
        f"/npc/api/v1/sdk/chat/{npc.id}/message",
        {"message": "x" * (settings.REQUEST_MAX_BYTES + 10), "user_session_id": "p1"},
        format="json",
    )
    assert _error(response, 413)["code"] == "payload_too_large"


def test_over_the_plans_minute_limit_is_429_with_retry_after_and(foil, owner, other):
    plan = Plan.objects.create(slug="three-a-minute", name="Three", requests_per_minute=3)
    for issued in (owner, other):
        accounts_services.app_plan_set(app=issued.api_key.app, plan=plan)
    for _ in range(3):
        assert foil.get("/npc/api/v1/sdk/personas").status_code == 200
    refused = foil.get("/npc/api/v1/sdk/personas")
    assert _error(refused, 429)["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    # the limit is per key: another app's key is not held back
    assert foil_client(other.raw_key).get("/npc/api/v1/sdk/personas").status_code == 200


SDK = "/npc/api/v1/sdk/chat/{npc}/"
PLAYER = {"user_session_id": "p1"}
# (method, path, body, query) of one bad request per route and kind of mistake; every one must be a 400 in
# Foil's shape and write nothing.
BAD_REQUESTS = [
    ("post", SDK + "init-session", {"user_session_id": "p1", "player_name": "Ada"}, None),
    ("post", SDK + "init-session", {"user_session_id": "", "player_name": "Ada", "player_gender": "f"}, None),
    ("post", SDK + "init-session", {"user_session_id": "x" * 300, "player_name": "A", "player_gender": "f"}, None),
    ("post", SDK + "init-session", "not an object", None),
    ("post", SDK + "message", {"user_session_id": "p1"}, None),
    ("post", SDK + "message", {"message": "   ", "user_session_id": "p1"}, None),
    ("post", SDK + "message", {"message": 7, "user_session_id": "p1"}, None),
    ("post", SDK + "message", {"message": "x" * 4001, "user_session_id": "p1"}, None),
    ("post", SDK + "message/stream", {"message": "", "user_session_id": "p1"}, None),
    ("post", SDK + "message/stream", ["hello"], None),
    ("get", SDK + "session", None, {}),
    ("get", SDK + "history", None, {"machine_id": "m"}),
    ("post", SDK + "reset", None, {}),
    ("get", SDK + "machines", None, {"user_session_id": ""}),
    ("get", "/npc/api/v1/personas", None, {"limit": "0"}),
    ("get", "/npc/api/v1/personas", None, {"limit": "101"}),
    ("get", "/npc/api/v1/personas", None, {"public_only": "maybe"}),
    ("post", "/npc/api/v1/creator/save", [], None),
]


@pytest.mark.parametrize(("method", "path", "body", "query"), BAD_REQUESTS)
def test_bad_input_on_every_route_is_400_and_writes_nothing(foil, npc, method, path, body, query):
    assert _init(foil, npc.id).status_code == 200
    before = _counts()
    url = path.format(npc=npc.id)
    if query is not None:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    response = getattr(foil, method)(url, body, format="json") if body is not None else getattr(foil, method)(url)
    _error(response, 400)
    assert _counts() == before


PERSONA_ROUTES = [
    ("post", SDK + "init-session", {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"}),
    ("post", SDK + "message", {"message": "hello", **PLAYER}),
    ("post", SDK + "message/stream", {"message": "hello", **PLAYER}),
    ("get", SDK + "session?user_session_id=p1", None),
    ("get", SDK + "history?user_session_id=p1", None),
    ("post", SDK + "reset?user_session_id=p1", None),
    ("get", SDK + "machines?user_session_id=p1", None),
    ("get", "/npc/api/v1/personas/{npc}", None),
    ("get", "/npc/api/v1/personas/{npc}/full", None),
    ("delete", "/npc/api/v1/personas/{npc}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PERSONA_ROUTES)
def test_every_persona_route_answers_401_without_a_key_and_404_for_an_unknown_or_private_persona(
    foil, other, method, path, body
):
    theirs = npcs_services.npc_save(app=other.api_key.app, body=scenario_body())

    def call(client, npc_id):
        url = path.format(npc=npc_id)
        return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)

    _error(call(APIClient(), theirs.id), 401)
    _error(call(foil, "npc_missing"), 404)
    _error(call(foil, theirs.id), 404)


def _counts() -> tuple[int, ...]:
    from apps.accounts.models import UsageRecord
    from apps.conversations.models import Event, Session
    from apps.npcs.models import NPC, Playthrough

    return tuple(model.objects.count() for model in (NPC, Playthrough, Session, Event, UsageRecord))


def test_an_unknown_url_is_404_in_foils_shape_for_a_post_too(owner):
    client = APIClient(enforce_csrf_checks=True)  # as a real client meets it: no CSRF token, no cookie
    client.credentials(HTTP_X_API_KEY=owner.raw_key)
    for method in (client.get, client.post):
        response = method("/npc/api/v1/sdk/chat/npc_x/nowhere", {}, format="json")
        assert _error(response, 404)["code"] == "not_found"
