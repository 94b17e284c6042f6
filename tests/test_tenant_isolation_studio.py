"""Tenant isolation on /studio/api/v1, generated from the surface's served OpenAPI document: for every path with
an id and every method, app B's key on app A's ids gets exactly what an id that does not exist gets (404, or 405
for an undocumented method, in the seed's ``{"error": "..."}``), writes nothing and shows none of A's ids; bodies
naming A's agent or conversation are answered as if it did not exist; lists show only the caller's rows."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.api.native.tests.contract import row_counts
from apps.assets.models import GeneratedImage, VisualAsset
from apps.characters.models import Character
from apps.conversations.models import Event, Run, Session
from tests import isolation
from tests.test_schema_fuzz_studio import studio_scene

SCHEMA = Client(SERVER_NAME="localhost").get("/studio/api/v1/openapi.json").json()  # collected before test settings
PREFIX = "/studio/api/v1"
MATRIX = isolation.matrix(SCHEMA)
LIST_PATHS = isolation.list_paths(SCHEMA)
UNKNOWN = {"conversation_id": "sess_000000000000000000000000", "agent_id": "no-such-agent"}
VALID_BODIES = {"message_create": {"content": "hello from the wrong tenant"}}


class Tenant:
    def __init__(self, issued) -> None:
        self.app = issued.api_key.app
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
        self.path_values = studio_scene(self.client)
        image = self.client.post(
            f"{PREFIX}/images",
            {
                "prompt": "a lighthouse",
                "sd_model_id": "builtin",
                "conversation_id": self.path_values["conversation_id"],
            },
            format="json",
        )
        assert image.status_code == 201, image.content[:300]
        self.image_id = image.json()["id"]

    def rows(self) -> dict[str, list[dict]]:
        sessions = Session.objects.filter(app=self.app)
        return isolation.rows(
            {
                "characters": Character.objects.filter(app=self.app),
                "sessions": sessions,
                "events": Event.objects.filter(session__in=sessions),
                "runs": Run.objects.filter(session__in=sessions),
                "assets": VisualAsset.objects.filter(app=self.app),
                "images": GeneratedImage.objects.filter(app=self.app),
            }
        )

    def visible_ids(self) -> set[str]:
        return {
            self.app.id,
            str(self.image_id),
            *self.path_values.values(),
            *Character.objects.filter(app=self.app).values_list("id", flat=True),
            *Session.objects.filter(app=self.app).values_list("id", flat=True),
            *GeneratedImage.objects.filter(app=self.app).values_list("id", flat=True),
        }


@pytest.fixture
def tenant_a(owner, db):
    return Tenant(owner)


@pytest.fixture
def tenant_b(other, db):
    return Tenant(other)


def _call(client, method: str, url: str, body):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body if body is not None else {}, format="json")


def _refused_alike(foreign, unknown, status: int, values: dict[str, str]) -> None:
    assert (foreign.status_code, unknown.status_code) == (status, status), (foreign.content[:300], unknown.content)
    assert set(foreign.json()) == {"error"}
    assert isolation.without_ids(foreign.json(), values) == isolation.without_ids(unknown.json(), UNKNOWN)


def test_the_matrix_covers_every_id_path_and_write_of_the_schema():
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
    body = VALID_BODIES.get(operation["operationId"]) if operation else None
    before, counts = tenant_a.rows(), row_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        foreign = _call(tenant_b.client, method, isolation.url(path, tenant_a.path_values, prefix=PREFIX), body)
        unknown = _call(tenant_b.client, method, isolation.url(path, UNKNOWN, prefix=PREFIX), body)
    _refused_alike(foreign, unknown, 404 if operation else 405, tenant_a.path_values)
    assert not isolation.leaked(foreign.content.decode(), tenant_a.visible_ids() - set(tenant_a.path_values.values()))
    assert (tenant_a.rows(), row_counts(), callbacks) == (before, counts, [])


def test_the_owner_gets_the_same_requests_answered(tenant_a):
    for path, method in MATRIX:
        operation = isolation.operation(SCHEMA, path, method)
        if operation is None:
            continue
        url = isolation.url(path, tenant_a.path_values, prefix=PREFIX)
        response = _call(tenant_a.client, method, url, VALID_BODIES.get(operation["operationId"]))
        assert 200 <= response.status_code < 300, (method, path, response.content[:300])


BODY_IDS = [
    ("/conversations", lambda ids: {"agent_id": ids["agent_id"]}),
    ("/images", lambda ids: {"prompt": "x", "sd_model_id": "builtin", "conversation_id": ids["conversation_id"]}),
    (
        "/completions",
        lambda ids: {
            "llm_id": "scripted",
            "agent_id": ids["agent_id"],
            "messages": [{"role": "user", "content": "hi"}],
        },
    ),
]


@pytest.mark.parametrize(("path", "body"), BODY_IDS, ids=[path for path, _ in BODY_IDS])
def test_another_apps_ids_in_a_body_look_like_ids_that_do_not_exist(path, body, tenant_a, tenant_b):
    before, counts = tenant_a.rows(), row_counts()
    foreign = tenant_b.client.post(PREFIX + path, body(tenant_a.path_values), format="json")
    unknown = tenant_b.client.post(PREFIX + path, body(UNKNOWN), format="json")
    assert foreign.status_code == unknown.status_code and foreign.status_code in (400, 404), foreign.content[:300]
    assert isolation.without_ids(foreign.json(), tenant_a.path_values) == isolation.without_ids(unknown.json(), UNKNOWN)
    assert (tenant_a.rows(), row_counts()) == (before, counts)


@pytest.mark.parametrize("path", LIST_PATHS)
def test_lists_show_only_the_callers_rows(path, tenant_a, tenant_b):
    query = {"type": "llm"} if path == "/models" else {}
    response = tenant_b.client.get(PREFIX + path, query)
    assert response.status_code == 200, response.content[:300]
    assert not isolation.leaked(response.content.decode(), tenant_a.visible_ids()), path
    own = {"/conversations": "conversation_id", "/agents": "agent_id"}
    if path in own:
        assert tenant_b.path_values[own[path]] in response.content.decode()
