"""Every list of every surface either pages with a maximum it refuses to pass, or says why it needs none.

The GET routes come from the URL conf. Each is probed with a page far over any maximum (``limit`` and
``page_size`` both): a route that pages refuses it (400/422 in its surface's shape, never a clamp), and must be
in PAGED with its maximum, which is then crossed exactly (the maximum taken, one over refused). Every other GET
route must be in NOT_PAGED with what bounds its answer; a new route in neither fails the first test. The
maxima each surface's served OpenAPI document declares must be the ones enforced, and every paged list documented.
"""

import re

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.personas import services as persona_services
from apps.personas.services.worlds import world_create

pytestmark = pytest.mark.django_db

SURFACES = {"/emotion/v1/": "emotion", "/npc/": "npc", "/studio/": "studio", "/openai/": "openai", "/v1/": "native"}
# the refusal of a page too big: status and the code in the surface's error shape (studio: a message)
REFUSALS = {
    "native": (422, lambda body: body["detail"]["code"] == "validation_error"),
    "emotion": (400, lambda body: body["error"]["code"] == "VALIDATION_ERROR"),
    "npc": (400, lambda body: body["error"]["code"] == "bad_request"),
    "studio": (400, lambda body: "limit" in body["error"] or "page_size" in body["error"]),
    "openai": (400, lambda body: body["error"]["code"] == "invalid_value"),
}

# route (URL conf pattern): (page parameter, maximum)
PAGED = {
    "/v1/sessions": ("limit", 100),
    "/v1/sessions/<session_id>/events": ("limit", 500),
    "/v1/usage": ("limit", 1000),
    "/v1/sessions/<session_id>/trace": ("limit", 200),
    "/emotion/v1/persona": ("limit", 100),
    "/emotion/v1/personas": ("limit", 100),
    "/emotion/v1/worlds": ("limit", 100),
    "/emotion/v1/worlds/<world_id>/events": ("limit", 100),
    "/npc/api/v1/personas": ("limit", 100),
    "/studio/api/v1/agents": ("limit", 500),
    "/studio/api/v1/conversations": ("limit", 500),
    "/studio/api/v1/images": ("page_size", 100),
}

ONE = "one object"
NOT_BOUNDED = "grows with use, not paged (yet): "  # known gaps, listed in docs/guarantees.md
PER_APP_CONFIG = "the app's own configuration, a handful of rows"
NOT_PAGED = {
    "/v1/": "the API root",
    "/v1/openapi.json": "the schema",
    "/emotion/v1/openapi.json": "the schema",
    "/studio/api/v1/openapi.json": "the schema",
    "/npc/api/v1/openapi.json": "the schema",
    "/openai/v1/openapi.json": "the schema",
    "/v1/sessions/<session_id>/events/stream": "a stream (STREAM_MAX_CONNECTIONS_PER_KEY); it pages its backlog",
    "/v1/account": ONE,
    "/v1/rates": "the model catalog's prices",
    "/v1/budget-policy": ONE,
    "/v1/external-users/<external_user_ref>/budget-policy": ONE,
    "/v1/characters": "the app's authored characters (authoring, not end-user data)",
    "/v1/characters/<slug>": ONE,
    "/v1/characters/<slug>/export": ONE,
    "/v1/characters/<slug>/versions": "one character's published versions (authoring)",
    "/v1/characters/<slug>/readiness": ONE,
    "/v1/characters/<slug>/lorebook": ONE,
    "/v1/characters/<slug>/image-probe/<probe_id>": ONE,
    "/v1/characters/<slug>/visual-assets": "one character's visual assets (authoring)",
    "/v1/characters/<slug>/visual-assets/<asset_id>": ONE,
    "/v1/characters/<slug>/visual-readiness": ONE,
    "/v1/lorebooks": "the app's shared lorebooks (authoring)",
    "/v1/lorebooks/<lorebook_id>": ONE,
    "/v1/sessions/<session_id>": ONE,
    "/v1/sessions/<session_id>/runs": "the newest 50 runs (run_list's fixed page)",
    "/v1/sessions/<session_id>/runs/<run_ref>/context": ONE,
    "/v1/sessions/<session_id>/memory": "one end-user's memory: MEMORY_MAX_BLOCKS blocks and its facts",
    "/v1/sessions/<session_id>/proactive-controls": ONE,
    "/v1/sessions/<session_id>/state": ONE,
    "/v1/sessions/<session_id>/channels": PER_APP_CONFIG,
    "/v1/webhook-endpoints": PER_APP_CONFIG,
    "/v1/webhook-endpoints/<endpoint_id>": ONE,
    "/v1/apps/<app_id>/delivery-channels/telegram": PER_APP_CONFIG,
    "/v1/delivery-channels/<channel_id>": ONE,
    "/v1/files/<token>": ONE,
    "/v1/llms.txt": "a text document",
    "/emotion/v1/persona/<session_id>": ONE,
    "/emotion/v1/presets": "the fixed preset catalog",
    "/emotion/v1/state/<session_id>": ONE,
    "/emotion/v1/proactive/<session_id>": "the session's pending proactive actions",
    "/emotion/v1/webhook/<session_id>": PER_APP_CONFIG,
    "/emotion/v1/personas/<persona_id>": ONE,
    "/emotion/v1/personas/<persona_id>/state": ONE,
    "/emotion/v1/personas/<persona_id>/snapshot": ONE,
    "/emotion/v1/worlds/<world_id>": ONE,
    "/emotion/v1/worlds/<world_id>/personas": "one world's members (authoring)",
    "/emotion/v1/worlds/<world_id>/personas/<member_ref>": ONE,
    "/emotion/v1/worlds/<world_id>/actions": "one world's authored actions",
    "/emotion/v1/worlds/<world_id>/relationships": "one world's members' pairs (authoring)",
    "/npc/api/v1/sdk/personas": "the newest PERSONAS_LIMIT published NPCs",
    "/npc/api/v1/sdk/chat/<persona_id>/session": ONE,
    "/npc/api/v1/sdk/chat/<persona_id>/history": NOT_BOUNDED + "one playthrough's chat (Foil's has no page)",
    "/npc/api/v1/sdk/chat/<persona_id>/machines": "one NPC's linked scenarios",
    "/npc/api/v1/chat/<persona_id>/session": ONE,
    "/npc/api/v1/chat/<persona_id>/history": NOT_BOUNDED + "one playthrough's chat (Foil's has no page)",
    "/npc/api/v1/chat/<persona_id>/machines": "one NPC's linked scenarios",
    "/npc/api/v1/personas/<persona_id>": ONE,
    "/npc/api/v1/personas/<persona_id>/full": ONE,
    "/studio/api/v1/models": "the model catalog",
    "/studio/api/v1/conversations/<conversation_id>": ONE,
    "/studio/api/v1/conversations/<conversation_id>/messages": NOT_BOUNDED
    + "one conversation's messages (the seed has no page)",
    "/studio/api/v1/agents/<agent_id>": ONE,
    "/openai/v1/models": "the model catalog",
    "/openai/v1/models/<model>": ONE,
}


def _surface(path: str) -> str:
    return next(surface for prefix, surface in SURFACES.items() if path.startswith(prefix))


def _get_routes(patterns=None, prefix: str = "") -> set[str]:
    """Every route of the API surfaces that answers GET, as ``/path/<param>``."""
    found = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _get_routes(pattern.url_patterns, text)
            continue
        route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", text)
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        answers_get = view is None or hasattr(view, "get")  # a function view is probed as well
        plain = not re.search(r"[(*+?\[^$]", route)  # regex routes (static files) are not the API's
        if isinstance(pattern, URLPattern) and route.startswith(tuple(SURFACES)) and answers_get and plain:
            found.add(route)
    return found


@pytest.fixture
def world(db):
    """An app with one of each object the paged routes read, and its key."""
    app = accounts_services.app_create(name="pages app")
    key = accounts_services.api_key_create(app=app, name="pages").raw_key
    with transaction.atomic():
        character_publish(app, slug="luna")
        session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="u1")
    persona = persona_services.persona_session_create(app=app, spec={"preset": "cheerful_companion"})
    ids = {
        "session_id": session.id,
        "conversation_id": session.id,
        "slug": "luna",
        "app_id": app.pk,
        "persona_id": persona.id,
        "world_id": world_create(app=app, name="Harbour").id,
    }
    return key, ids


def _get(key: str, route: str, ids: dict, query: str):
    path = re.sub(r"<(\w+)>", lambda match: str(ids.get(match.group(1), "missing")), route)
    if route.startswith("/emotion/v1/persona/") or route.startswith("/emotion/v1/state/"):
        path = path.replace(ids["session_id"], ids["persona_id"])
    return Client().get(f"{path}?{query}", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_API_KEY=key)


def _refused(surface: str, response) -> bool:
    status, has_code = REFUSALS[surface]
    return response.status_code == status and has_code(response.json())


def test_every_get_route_is_paged_or_says_why_it_needs_no_page():
    routes = _get_routes()
    assert len(routes) > 50
    assert routes - PAGED.keys() - NOT_PAGED.keys() == set(), "a new GET route: add it to PAGED or NOT_PAGED"
    assert (PAGED.keys() | NOT_PAGED.keys()) - routes == set(), "a route in the tables is gone"
    assert PAGED.keys() & NOT_PAGED.keys() == set()


def test_exactly_the_paged_routes_refuse_a_page_far_over_any_maximum(world):
    key, ids = world
    refusing = {
        route
        for route in _get_routes()
        # refused for the page alone: not a route that refuses this bare request anyway (a required parameter)
        if _refused(_surface(route), _get(key, route, ids, "limit=100000&page_size=100000"))
        and not _refused(_surface(route), _get(key, route, ids, ""))
    }
    assert refusing == set(PAGED)


@pytest.mark.parametrize("route", list(PAGED))
def test_each_paged_list_takes_its_maximum_and_refuses_one_more(route, world):
    key, ids = world
    parameter, maximum = PAGED[route]
    taken = _get(key, route, ids, f"{parameter}={maximum}")
    assert taken.status_code == 200, taken.content[:300]
    assert _refused(_surface(route), _get(key, route, ids, f"{parameter}={maximum + 1}"))


DOCUMENTS = ["/v1/openapi.json", "/emotion/v1/openapi.json", "/studio/api/v1/openapi.json", "/npc/api/v1/openapi.json"]
DOCUMENTS += ["/openai/v1/openapi.json"]


def _shape(route: str) -> str:
    """A route with its parameters unnamed (the documents name them as their surface does: ``{worldId}``)."""
    return re.sub(r"<\w+>|\{\w+\}", "<>", route)


def _documented_maxima(document: dict) -> dict[str, tuple[str, int]]:
    """route: (page parameter, its declared maximum) for each GET operation of ``document`` that pages."""
    server = (document.get("servers") or [{"url": ""}])[0]["url"]
    prefix = server if server.startswith("/") else ""
    found = {}
    for path, operations in document["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter.get("in") == "query" and parameter["name"] in ("limit", "page_size"):
                route = _shape(prefix.rstrip("/") + path)
                found[route] = (parameter["name"], parameter["schema"].get("maximum"))
    return found


def test_every_surfaces_openapi_document_declares_the_maxima_enforced(world):
    key, _ = world
    documented = {}
    for url in DOCUMENTS:
        response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_API_KEY=key)
        assert response.status_code == 200, url
        documented |= _documented_maxima(response.json())
    assert {_surface(route) for route in documented} >= {"native", "emotion", "npc", "studio"}
    enforced = {_shape(route): page for route, page in PAGED.items()}
    for route, declared in documented.items():
        assert enforced.get(route) == declared, route
    undocumented = set(enforced) - set(documented)
    assert undocumented == set(), "these lists page but their OpenAPI documents do not say so"
