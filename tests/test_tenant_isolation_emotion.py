"""Tenant isolation on /emotion/v1 (molroo's REST v1 and SDK 0.7 routes), generated from the surface's served
OpenAPI document, and on its WebSocket.

- For every path with an id and every method, app B's key on app A's ids gets exactly what an id that does not
  exist gets (404 NOT_FOUND for documented methods, 405 for the others), writes nothing, and shows none of A's ids.
- Paths with two ids: B's own world with A's member, action or relationship is refused the same way.
- Bodies that name A's ids (a turn on A's session, A's persona added to B's world, an interaction aimed at A's
  member) are answered as if the id did not exist.
- Lists show only the caller's rows.
- The WebSocket on A's session with B's key (header or molroo's ?token=) or B's stream token is refused exactly
  like a session that does not exist.
"""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import UsageRecord
from apps.api.emotion.tests.scene import Scene, scene_build
from apps.api.emotion.tests.test_persona_api import PRAISE
from apps.conversations.models import IdempotencyRecord, Memory, MemoryFact
from apps.delivery.models import WebhookDelivery, WebhookEndpoint
from apps.personas.models import (
    PersonaRelationship,
    PersonaSession,
    ProactiveAction,
    World,
    WorldAction,
    WorldEvent,
    WorldMember,
    WorldRelationship,
)
from config.asgi import application
from tests import isolation

SCHEMA = Client(SERVER_NAME="localhost").get("/emotion/v1/openapi.json").json()  # collected before test settings
PREFIX = "/emotion/v1"
MATRIX = isolation.matrix(SCHEMA)
LIST_PATHS = isolation.list_paths(SCHEMA)
UNKNOWN = {
    "sessionId": "ses_000000000000000000000000",
    "personaId": "ses_000000000000000000000001",
    "worldId": "wld_000000000000000000000000",
    "memberRef": "wm_000000000000000000000000",
    "actionRef": "act_000000000000000000000000",
    "relationshipId": "rel_000000000000000000000000",
}
HOOK = {"url": "https://127.0.0.1:8443/hook", "secret": "s" * 20, "events": ["stage_transition"]}
# A valid body for each documented write with an id in its path, so that only the tenancy can refuse it (a
# callable gets the calling tenant's scene and the target's).
VALID_BODIES = {
    "persona_delete": None,
    "persona_stream_token_create": None,
    "proactive_preferences_update": {"enabled": True},
    "webhook_create": HOOK,
    "sdk_persona_update": {"identity": {"name": "From the wrong tenant"}},
    "sdk_persona_delete": None,
    "sdk_persona_restore": None,
    "sdk_persona_perceive": {"event": {"payload": {"message": "hi"}, "appraisal": PRAISE}},
    "sdk_persona_tick": {"seconds": 600},
    "sdk_persona_emotion_set": {"vad": {"V": -0.5}},
    "sdk_persona_snapshot_restore": lambda own, target: {"snapshot": own.snapshot},
    "sdk_persona_prompt_context": {},
    "sdk_persona_memory_search": {"query": "hello"},
    "world_update": {"name": "Stolen"},
    "world_delete": None,
    "world_member_add": lambda own, target: {"persona_id": own.scene.persona_id},
    "world_member_remove": None,
    "world_member_prompt_context": {},
    "world_member_tick": {"seconds": 600},
    "world_action_create": {"name": "poke", "appraisal_vector": PRAISE},
    "world_action_delete": None,
    "world_relationship_set": lambda own, target: {
        "source_type": "user",
        "source_id": "user-9",
        "target_type": "persona",
        "target_id": target["memberRef"],
    },
    "world_relationship_delete": None,
    "world_interact": lambda own, target: {"target_persona_id": target["memberRef"], "action_name": "greet"},
}


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


class Tenant:
    def __init__(self, issued, name: str) -> None:
        self.app = issued.api_key.app
        self.raw_key = issued.raw_key
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
        self.scene: Scene = scene_build(self.client, name=name)
        snapshot = self.client.get(f"{PREFIX}/personas/{self.scene.persona_id}/snapshot")
        assert snapshot.status_code == 200, snapshot.content[:300]
        self.snapshot = snapshot.json()["result"]

    @property
    def path_values(self) -> dict[str, str]:
        return self.scene.path_values

    def rows(self) -> dict[str, list[dict]]:
        """Every row the app owns in the tables this surface writes."""
        sessions = PersonaSession.objects.filter(app=self.app)
        worlds = World.objects.filter(app=self.app)
        return isolation.rows(
            {
                "sessions": sessions,
                "relationships": PersonaRelationship.objects.filter(session__in=sessions),
                "proactive": ProactiveAction.objects.filter(session__in=sessions),
                "worlds": worlds,
                "members": WorldMember.objects.filter(world__in=worlds),
                "actions": WorldAction.objects.filter(world__in=worlds),
                "world_relationships": WorldRelationship.objects.filter(world__in=worlds),
                "world_events": WorldEvent.objects.filter(world__in=worlds),
                "webhooks": WebhookEndpoint.objects.filter(app=self.app),
                "deliveries": WebhookDelivery.objects.filter(endpoint__app=self.app),
                "memories": Memory.objects.filter(app=self.app),
                "facts": MemoryFact.objects.filter(memory__app=self.app),
                "usage": UsageRecord.objects.filter(app=self.app),
                "idempotency": IdempotencyRecord.objects.filter(app=self.app),
            }
        )

    def visible_ids(self) -> set[str]:
        """Every id of the app's rows that a response could show."""
        worlds = World.objects.filter(app=self.app)
        return {
            self.app.id,
            *PersonaSession.objects.filter(app=self.app).values_list("id", flat=True),
            *ProactiveAction.objects.filter(session__app=self.app).values_list("id", flat=True),
            *worlds.values_list("id", flat=True),
            *WorldMember.objects.filter(world__in=worlds).values_list("id", flat=True),
            *WorldAction.objects.filter(world__in=worlds).values_list("id", flat=True),
            *WorldRelationship.objects.filter(world__in=worlds).values_list("id", flat=True),
            *WebhookEndpoint.objects.filter(app=self.app).values_list("id", flat=True),
            *MemoryFact.objects.filter(memory__app=self.app).values_list("id", flat=True),
        }


@pytest.fixture
def tenant_a(owner):
    return Tenant(owner, "Alpha")


@pytest.fixture
def tenant_b(other):
    return Tenant(other, "Beta")


def table_counts() -> dict[str, int]:
    models = (PersonaSession, PersonaRelationship, ProactiveAction, World, WorldMember, WorldAction)
    models += (WorldRelationship, WorldEvent, WebhookEndpoint, WebhookDelivery, Memory, MemoryFact, UsageRecord)
    return {model.__name__: model.objects.count() for model in models}


def _body(operation: dict | None, own: Tenant, target: dict[str, str]):
    body = VALID_BODIES.get(operation["operationId"]) if operation else None
    return body(own, target) if callable(body) else body


def _call(client: APIClient, method: str, url: str, body):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body if body is not None else {}, format="json")


def _refused_alike(foreign, unknown, status: int, code: str, values: dict[str, str]) -> None:
    assert (foreign.status_code, unknown.status_code) == (status, status), (foreign.content[:300], unknown.content)
    error = foreign.json()["error"]
    assert (error["code"], error["status"]) == (code, status), error
    assert isolation.without_ids(foreign.json(), values) == isolation.without_ids(unknown.json(), UNKNOWN)


def test_the_matrix_covers_every_id_path_and_write_of_the_schema():
    assert {"/persona/{sessionId}", "/personas/{personaId}", "/worlds/{worldId}/personas/{memberRef}"} <= {
        path for path, _ in MATRIX
    }
    params = {name for path, _ in MATRIX for name in isolation.path_params(path)}
    assert params == set(UNKNOWN), "a new path parameter needs an unknown value here"
    writes = {
        operation["operationId"]
        for path, item in SCHEMA["paths"].items()
        if "{" in path
        for method, operation in item.items()
        if method in isolation.METHODS and method != "get"
    }
    assert writes == set(VALID_BODIES), "a new write with an id needs a valid body here"


@pytest.mark.parametrize(("path", "method"), MATRIX, ids=isolation.matrix_ids(MATRIX))
def test_another_apps_ids_look_exactly_like_ids_that_do_not_exist(
    path, method, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    operation = isolation.operation(SCHEMA, path, method)
    before, counts = tenant_a.rows(), table_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        foreign = _call(
            tenant_b.client,
            method,
            isolation.url(path, tenant_a.path_values, prefix=PREFIX),
            _body(operation, tenant_b, tenant_a.path_values),
        )
        unknown = _call(
            tenant_b.client, method, isolation.url(path, UNKNOWN, prefix=PREFIX), _body(operation, tenant_b, UNKNOWN)
        )
    status, code = (404, "NOT_FOUND") if operation else (405, "METHOD_NOT_ALLOWED")
    _refused_alike(foreign, unknown, status, code, tenant_a.path_values)
    assert not isolation.leaked(foreign.content.decode(), tenant_a.visible_ids() - set(tenant_a.path_values.values()))
    assert (tenant_a.rows(), table_counts(), callbacks) == (before, counts, [])


NESTED = [(path, method) for path, method in MATRIX if path.startswith("/worlds/{worldId}/") and path.count("{") == 2]


@pytest.mark.parametrize(("path", "method"), NESTED, ids=isolation.matrix_ids(NESTED))
def test_another_apps_member_action_or_relationship_under_the_callers_own_world_is_not_found(
    path, method, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    operation = isolation.operation(SCHEMA, path, method)
    if operation is None:
        pytest.skip("an undocumented method is refused before any id is read (covered above)")
    own_world = tenant_b.path_values["worldId"]
    foreign_values = {**tenant_a.path_values, "worldId": own_world}
    unknown_values = {**UNKNOWN, "worldId": own_world}
    before, counts = tenant_a.rows(), table_counts()
    with django_capture_on_commit_callbacks(execute=True):
        foreign = _call(
            tenant_b.client,
            method,
            isolation.url(path, foreign_values, prefix=PREFIX),
            _body(operation, tenant_b, foreign_values),
        )
        unknown = _call(
            tenant_b.client,
            method,
            isolation.url(path, unknown_values, prefix=PREFIX),
            _body(operation, tenant_b, unknown_values),
        )
    _refused_alike(foreign, unknown, 404, "NOT_FOUND", tenant_a.path_values)
    assert (tenant_a.rows(), table_counts()) == (before, counts)


def test_the_owner_gets_the_same_requests_answered(tenant_a):
    """The matrix's 404s come from the tenancy, not from wrong URLs or bodies: the owner's key gets 2xx (deletes
    last, so the ids live until their own call; the persona's restore after its delete)."""
    documented = [(path, method) for path, method in MATRIX if isolation.operation(SCHEMA, path, method)]

    def order(pair):
        path, method = pair
        restore = path.endswith("/restore")
        # a member's removal takes its relationships along: theirs go first
        return (method == "delete" or restore, restore, path.count("{") == 1, "{memberRef}" in path)

    for path, method in sorted(documented, key=order):
        body = _body(isolation.operation(SCHEMA, path, method), tenant_a, tenant_a.path_values)
        response = _call(tenant_a.client, method, isolation.url(path, tenant_a.path_values, prefix=PREFIX), body)
        assert 200 <= response.status_code < 300, (method, path, response.content[:300])


BODY_IDS = [
    ("post", "/turn", lambda a, b: {"sessionId": a["sessionId"], "message": "hi"}),
    ("post", "/turn/appraisal", lambda a, b: {"sessionId": a["sessionId"], "appraisal": _six(PRAISE)}),
    ("post", "/worlds/{own}/personas", lambda a, b: {"persona_id": a["personaId"]}),
    ("post", "/worlds/{own}/interact", lambda a, b: {"target_persona_id": a["memberRef"], "action_name": "greet"}),
    (
        "put",
        "/worlds/{own}/relationships",
        lambda a, b: {"source_type": "user", "source_id": "u", "target_type": "persona", "target_id": a["memberRef"]},
    ),
]


def _six(vector: dict) -> dict:
    return {
        name: value
        for name, value in vector.items()
        if name not in ("internal_standards", "adjustment_potential", "urgency")
    }


@pytest.mark.parametrize(("method", "path", "body"), BODY_IDS, ids=[f"{m.upper()} {p}" for m, p, _ in BODY_IDS])
def test_another_apps_ids_in_a_body_look_like_ids_that_do_not_exist(method, path, body, tenant_a, tenant_b):
    url = PREFIX + path.replace("{own}", tenant_b.path_values["worldId"])
    before, counts = tenant_a.rows(), table_counts()
    foreign = _call(tenant_b.client, method, url, body(tenant_a.path_values, tenant_b.path_values))
    unknown = _call(tenant_b.client, method, url, body(UNKNOWN, tenant_b.path_values))
    _refused_alike(foreign, unknown, 404, "NOT_FOUND", tenant_a.path_values)
    assert (tenant_a.rows(), table_counts()) == (before, counts)


@pytest.mark.parametrize("path", LIST_PATHS)
def test_lists_show_only_the_callers_rows(path, tenant_a, tenant_b):
    response = tenant_b.client.get(PREFIX + path, {"limit": 100} if path != "/presets" else {})
    assert response.status_code == 200, response.content[:300]
    assert not isolation.leaked(response.content.decode(), tenant_a.visible_ids()), path
    own = {"/persona": [tenant_b.scene.session_id], "/personas": [tenant_b.scene.persona_id]}
    own["/worlds"] = [tenant_b.scene.world_id]
    assert all(value in response.content.decode() for value in own.get(path, []))


# --- the WebSocket ------------------------------------------------------------------------------------------
TIMEOUT = 10


def _socket_refusal(session_id: str, *, key: str = "", query: str = "") -> tuple[dict, int]:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []

    async def scenario():
        socket = WebsocketCommunicator(application, f"{PREFIX}/ws/{session_id}{query}", headers=headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        error = await socket.receive_json_from(TIMEOUT)
        closed = await socket.receive_output(TIMEOUT)
        assert closed["type"] == "websocket.close"
        await socket.disconnect()
        return error, closed["code"]

    return asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["key in the header", "key as ?token=", "stream token of B's session"])
def test_the_socket_refuses_another_apps_session_like_an_unknown_one(how, tenant_a, tenant_b):
    def attempt(session_id: str) -> tuple[dict, int]:
        if how == "key in the header":
            return _socket_refusal(session_id, key=tenant_b.raw_key)
        if how == "key as ?token=":
            return _socket_refusal(session_id, query=f"?token={tenant_b.raw_key}")
        minted = tenant_b.client.post(f"{PREFIX}/persona/{tenant_b.scene.session_id}/stream-token")
        assert minted.status_code == 201, minted.content[:300]
        return _socket_refusal(session_id, query=f"?token={minted.json()['token']}")

    before = tenant_a.rows()
    foreign_error, foreign_code = attempt(tenant_a.scene.session_id)
    unknown_error, unknown_code = attempt(UNKNOWN["sessionId"])
    assert foreign_error["type"] == "error" and foreign_code in (4001, 4004), foreign_error
    assert (foreign_code, isolation.without_ids(foreign_error, {"id": tenant_a.scene.session_id})) == (
        unknown_code,
        isolation.without_ids(unknown_error, {"id": UNKNOWN["sessionId"]}),
    )
    assert not isolation.leaked(str(foreign_error), tenant_a.visible_ids() - {tenant_a.scene.session_id})
    assert tenant_a.rows() == before
