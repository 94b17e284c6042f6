"""``/npc/api/v1/openapi.json`` documents every route of the surface with the methods its view answers, and real
responses of every endpoint (successes and errors) validate against it."""

import pytest

from apps.api.npc import urls
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from tests.openapi_documents import document_fetch, documented_routes, response_check, routes

pytestmark = pytest.mark.django_db

BASE = "/npc/api/v1"
UNDOCUMENTED = {"npc-openapi", "npc-not-found"}  # the document itself, and the catch-all 404


@pytest.fixture
def document(anon):
    return document_fetch(anon, f"{BASE}/openapi.json")


def test_every_route_and_method_is_documented_and_nothing_else(document):
    assert documented_routes(document) == routes(urls.urlpatterns, prefix="api/v1/", undocumented=UNDOCUMENTED)
    assert urls.urlpatterns[-1].name == "npc-not-found"  # the catch-all: the only route left out besides the document


def _check(document, path: str, method: str, response, media: str = "application/json") -> None:
    response_check(document, path, method, response, media)


def test_responses_match_the_document(foil, api, anon, other_foil, other, document):
    saved = api.post(f"{BASE}/creator/save", scenario_body(), format="json")
    _check(document, "/creator/save", "post", saved)
    pid = saved.json()["persona_id"]
    public = npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name="Open", is_public=True)).id
    _check(
        document,
        "/creator/save",
        "post",
        api.post(f"{BASE}/creator/save?persona_id={pid}", scenario_body(), format="json"),
    )
    _check(
        document,
        "/creator/save",
        "post",
        api.post(f"{BASE}/creator/save?persona_id={public}", scenario_body(), format="json"),
    )
    broken = scenario_body()
    broken["machines"][0]["transitions"][0]["to_state_key"] = "nowhere"
    _check(document, "/creator/save", "post", api.post(f"{BASE}/creator/save", broken, format="json"))
    _check(document, "/creator/save", "post", api.post(f"{BASE}/creator/save", {"persona": {}}, format="json"))
    _check(document, "/personas", "get", api.get(f"{BASE}/personas", {"public_only": "true"}))
    _check(document, "/personas", "get", anon.get(f"{BASE}/personas"))
    _check(document, "/personas/{persona_id}", "get", api.get(f"{BASE}/personas/{pid}"))
    _check(document, "/personas/{persona_id}", "get", api.get(f"{BASE}/personas/npc_nope"))
    _check(document, "/personas/{persona_id}/full", "get", api.get(f"{BASE}/personas/{pid}/full"))
    _check(document, "/personas/{persona_id}", "delete", api.delete(f"{BASE}/personas/{public}"))
    _check(document, "/sdk/personas", "get", foil.get(f"{BASE}/sdk/personas"))
    for prefix in ("/sdk", ""):
        chat = f"{prefix}/chat/{{persona_id}}"
        url = f"{BASE}{prefix}/chat/{pid}"
        player = {"user_session_id": f"p{prefix}", "player_name": "Ada", "player_gender": "female"}
        _check(document, f"{chat}/init-session", "post", foil.post(f"{url}/init-session", player, format="json"))
        _check(document, f"{chat}/init-session", "post", foil.post(f"{url}/init-session", {}, format="json"))
        turn = {"message": "Hello there", "user_session_id": f"p{prefix}"}
        _check(document, f"{chat}/message", "post", foil.post(f"{url}/message", turn, format="json"))
        _check(document, f"{chat}/message", "post", other_foil.post(f"{url}/message", turn, format="json"))
        stream = foil.post(f"{url}/message/stream", turn, format="json")
        _check(document, f"{chat}/message/stream", "post", stream, "text/event-stream")
        b"".join(stream.streaming_content)
        query = {"user_session_id": f"p{prefix}"}
        _check(document, f"{chat}/session", "get", foil.get(f"{url}/session", query))
        _check(document, f"{chat}/history", "get", foil.get(f"{url}/history", query))
        _check(document, f"{chat}/history", "get", foil.get(f"{url}/history", {"user_session_id": "nobody"}))
        _check(document, f"{chat}/machines", "get", foil.get(f"{url}/machines", query))
        _check(document, f"{chat}/reset", "post", foil.post(f"{url}/reset?user_session_id=p{prefix}"))
    _check(document, "/sdk/validate-llm-key", "post", foil.post(f"{BASE}/sdk/validate-llm-key", {}, format="json"))
    _check(document, "/personas/{persona_id}", "delete", api.delete(f"{BASE}/personas/{pid}"))
