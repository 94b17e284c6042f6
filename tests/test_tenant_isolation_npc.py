"""Tenant isolation on the NPC surface (``/npc/api/v1``, Foil Engine-compatible), generated from its served OpenAPI
document with ``tests/isolation.py``.

- For every path with a persona id (SDK, player and management routes, the message stream included) and every
  HTTP method, app B's key on app A's private persona gets exactly what a persona that does not exist gets, writes
  nothing, and shows none of A's ids; ``creator/save?persona_id=`` on A's persona too.
- The lists (``sdk/personas``, ``personas`` under each filter) never show A's private persona.
- Foil's public personas are the one exception (ISSUE-NOTES, "Across issues"): B lists, reads and plays A's public
  persona, and changing or deleting it is 403, writing nothing of A's.
"""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import UsageRecord
from apps.api.native.tests.contract import row_counts
from apps.conversations import services as conversations_services
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Transition, Variable
from tests import isolation
from tests.openapi_documents import document_fetch

BASE = "/npc/api/v1"
PLAYER = "player-1"
UNKNOWN = {"persona_id": "npc_000000000000000000000000"}
PLAYER_BODY = {"user_session_id": PLAYER, "player_name": "Bo", "player_gender": "male"}
MESSAGE_BODY = {"message": "hello, the password", "user_session_id": PLAYER}
# A valid body for each documented write with a persona id, so that only the tenancy can refuse it.
VALID_BODIES = {
    "init_session": PLAYER_BODY,
    "message": MESSAGE_BODY,
    "message_stream": MESSAGE_BODY,
    "reset": None,
    "persona_delete": None,
}


@pytest.fixture
def schema(db):
    return document_fetch(APIClient(), f"{BASE}/openapi.json")


def _schema():
    """The document without a database (the module's parametrisation needs it at collection)."""
    from apps.api.npc.openapi import openapi_document

    return openapi_document()


MATRIX = isolation.matrix(_schema())


class Tenant:
    """An app with a private NPC (two published machines) whose player has opened a session and sent a message
    (events, a run, usage), and a public NPC with a player of its own."""

    def __init__(self, issued, name: str, captured) -> None:
        self.app = issued.api_key.app
        self.client = APIClient()
        self.client.credentials(HTTP_X_API_KEY=issued.raw_key)
        self.npc = npcs_services.npc_save(app=self.app, body=scenario_body(name=f"{name} keeper"))
        self.public = npcs_services.npc_save(app=self.app, body=scenario_body(name=f"{name} host", is_public=True))
        with captured(execute=True):
            for npc in (self.npc, self.public):
                conversations_services.npc_session_start(
                    app=self.app, npc_id=npc.id, player_session_id=PLAYER, player_name="Ada", player_gender="female"
                )
                conversations_services.npc_message_send(
                    app=self.app, npc_id=npc.id, player_session_id=PLAYER, text="hello there"
                )

    def snapshot(self) -> dict[str, list]:
        npcs = NPC.objects.filter(app=self.app)
        sessions = Session.objects.filter(app=self.app)
        return isolation.rows(
            {
                "npcs": npcs,
                "machines": Machine.objects.filter(npc__in=npcs),
                "states": State.objects.filter(machine__npc__in=npcs),
                "transitions": Transition.objects.filter(machine__npc__in=npcs),
                "links": MachineLink.objects.filter(npc__in=npcs),
                "variables": Variable.objects.filter(machine__npc__in=npcs),
                "playthroughs": Playthrough.objects.filter(npc__in=npcs),
                "sessions": sessions,
                "events": Event.objects.filter(session__in=sessions),
                "runs": Run.objects.filter(session__in=sessions),
                "usage": UsageRecord.objects.filter(app=self.app),
            }
        )

    def private_ids(self) -> set[str]:
        """Every id of the private NPC's rows that a response could show."""
        playthroughs = Playthrough.objects.filter(npc=self.npc)
        return {
            self.npc.id,
            *Machine.objects.filter(npc=self.npc).values_list("id", flat=True),
            *State.objects.filter(machine__npc=self.npc).values_list("id", flat=True),
            *playthroughs.values_list("id", flat=True),
            *Session.objects.filter(playthrough__in=playthroughs).values_list("id", flat=True),
            f"{self.npc.character.display_name}",
        }


@pytest.fixture
def tenant_a(owner, django_capture_on_commit_callbacks):
    return Tenant(owner, "Alpha", django_capture_on_commit_callbacks)


@pytest.fixture
def tenant_b(other, django_capture_on_commit_callbacks):
    return Tenant(other, "Beta", django_capture_on_commit_callbacks)


def _counts() -> dict:
    models = (NPC, Machine, State, Transition, MachineLink, Variable, Playthrough)
    return {**row_counts(), **{model.__name__: model.objects.count() for model in models}}


def _call(client: APIClient, method: str, path: str, values: dict[str, str], body):
    url = isolation.url(path, values, prefix=BASE) + f"?user_session_id={PLAYER}"
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body if body is not None else {}, format="json")


def _body(response) -> dict:
    return response.json() if response["Content-Type"].startswith("application/json") else {"stream": True}


def test_the_matrix_covers_every_persona_route_of_the_document(schema):
    assert {path for path, _ in MATRIX} == set(isolation.id_paths(schema))
    assert {"/sdk/chat/{persona_id}/message/stream", "/chat/{persona_id}/message/stream"} <= set(
        isolation.id_paths(schema)
    )
    params = {name for path in isolation.id_paths(schema) for name in isolation.path_params(path)}
    assert params == set(UNKNOWN)
    writes = {
        operation["operationId"].removeprefix("sdk_").removeprefix("player_")
        for path in isolation.id_paths(schema)
        for method, operation in schema["paths"][path].items()
        if method in ("post", "delete")
    }
    assert writes == set(VALID_BODIES), "a new write with a persona id needs a valid body here"


@pytest.mark.parametrize(("path", "method"), MATRIX, ids=isolation.matrix_ids(MATRIX))
def test_another_apps_persona_looks_exactly_like_one_that_does_not_exist(
    path, method, schema, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    operation = isolation.operation(schema, path, method)
    short_id = operation["operationId"].removeprefix("sdk_").removeprefix("player_") if operation else None
    body = VALID_BODIES.get(short_id)
    values = {"persona_id": tenant_a.npc.id}
    before, counts = tenant_a.snapshot(), _counts()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        foreign = _call(tenant_b.client, method, path, values, body)
        unknown = _call(tenant_b.client, method, path, UNKNOWN, body)

    expected = 404 if operation else 405
    assert (foreign.status_code, unknown.status_code) == (expected, expected), foreign.content[:300]
    assert foreign["Content-Type"].startswith("application/json")  # a stream refused before it starts
    assert isolation.without_ids(_body(foreign), values) == isolation.without_ids(_body(unknown), UNKNOWN)
    assert not isolation.leaked(foreign.content.decode(), tenant_a.private_ids() - set(values.values()))
    assert tenant_a.snapshot() == before
    assert (_counts(), callbacks) == (counts, [])


def test_the_owner_gets_the_same_requests_answered(tenant_a, schema, django_capture_on_commit_callbacks):
    """The matrix's 404s come from the tenancy, not from wrong URLs or bodies: A's own key gets 2xx."""
    for path, method in sorted(MATRIX, key=lambda pair: pair[1] == "delete"):
        operation = isolation.operation(schema, path, method)
        if operation is None:
            continue
        body = VALID_BODIES.get(operation["operationId"].removeprefix("sdk_").removeprefix("player_"))
        with django_capture_on_commit_callbacks(execute=True):
            response = _call(tenant_a.client, method, path, {"persona_id": tenant_a.npc.id}, body)
        assert 200 <= response.status_code < 300, (method, path, response.content[:300])
        if path.endswith("/stream"):
            b"".join(response.streaming_content)


def test_saving_over_another_apps_private_persona_is_the_unknown_ones_404(tenant_a, tenant_b):
    before, counts = tenant_a.snapshot(), _counts()
    foreign = tenant_b.client.post(f"{BASE}/creator/save?persona_id={tenant_a.npc.id}", scenario_body(), format="json")
    unknown = tenant_b.client.post(
        f"{BASE}/creator/save?persona_id={UNKNOWN['persona_id']}", scenario_body(), format="json"
    )
    assert foreign.status_code == unknown.status_code == 404
    assert isolation.without_ids(foreign.json(), {"id": tenant_a.npc.id}) == isolation.without_ids(
        unknown.json(), {"id": UNKNOWN["persona_id"]}
    )
    assert (tenant_a.snapshot(), _counts()) == (before, counts)


@pytest.mark.parametrize(
    "query", [{}, {"public_only": "true"}, {"my_personas": "true"}, {"limit": 100}], ids=lambda query: str(query)
)
@pytest.mark.parametrize("path", ["/sdk/personas", "/personas"])
def test_lists_never_show_another_apps_private_persona(path, query, schema, tenant_a, tenant_b):
    assert path in isolation.list_paths(schema)
    response = tenant_b.client.get(BASE + path, query)
    assert response.status_code == 200
    listed = {persona["id"] for persona in response.json()}
    assert tenant_a.npc.id not in listed and not isolation.leaked(response.content.decode(), tenant_a.private_ids())
    own = {tenant_b.npc.id, tenant_b.public.id}
    if path == "/personas" and not query.get("public_only"):
        assert own <= listed  # the caller's own rows are there
    if path == "/personas" and not query.get("my_personas"):
        assert tenant_a.public.id in listed  # the public one is everybody's to see
    if path == "/sdk/personas" or query.get("my_personas"):
        assert tenant_a.public.id not in listed


def test_every_list_of_the_document_is_covered(schema):
    assert set(isolation.list_paths(schema)) == {"/sdk/personas", "/personas"}


@pytest.mark.xfail(
    strict=True,
    reason="A playthrough is keyed by (npc, machine, player_session_id) with no app: another app playing a public "
    "persona under the same player id takes over the owner's player (restarts and moves it). Needs an app on "
    "npcs.Playthrough (and in its unique constraint and every lookup).",
)
def test_another_apps_public_persona_is_read_and_played_but_not_changed(
    tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    public = tenant_a.public.id
    client = tenant_b.client
    assert client.get(f"{BASE}/personas/{public}").status_code == 200
    assert client.get(f"{BASE}/personas/{public}/full").status_code == 200
    before, counts = tenant_a.snapshot(), _counts()
    deleted = client.delete(f"{BASE}/personas/{public}")
    saved = client.post(f"{BASE}/creator/save?persona_id={public}", scenario_body(), format="json")
    assert (deleted.status_code, saved.status_code) == (403, 403)
    assert deleted.json()["error"]["code"] == saved.json()["error"]["code"]
    assert (tenant_a.snapshot(), _counts()) == (before, counts)
    with django_capture_on_commit_callbacks(execute=True):
        opened = client.post(f"{BASE}/chat/{public}/init-session", PLAYER_BODY, format="json")
        played = client.post(f"{BASE}/chat/{public}/message", MESSAGE_BODY, format="json")
    assert (opened.status_code, played.status_code) == (200, 200), played.content[:300]
    # B's player is B's, though named like A's: B's session and messages are B's, and A's player is untouched.
    assert Session.objects.get(id=played.json()["session_id"]).app == tenant_b.app
    history = client.get(f"{BASE}/chat/{public}/history", {"user_session_id": PLAYER}).json()
    assert [message["content"] for message in history["messages"] if message["role"] == "user"] == [
        MESSAGE_BODY["message"]
    ]
    assert tenant_a.snapshot() == before
