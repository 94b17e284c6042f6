"""Tenant isolation on the OpenAI-compatible surface (``/openai/v1``), generated from its served OpenAPI document
with ``tests/isolation.py``: characters are models, so app B naming app A's character gets exactly what a model
that does not exist gets (404 ``model_not_found``), on every id path and method, in chat completions (with and
without ``user``, streamed or not: a stream is refused before it starts) and in image generations; nothing is
written and none of A's ids shows; the model list never shows A's characters."""

import pytest
from rest_framework.test import APIClient

from apps.api.native.tests.contract import row_counts
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Session
from tests import isolation
from tests.openapi_documents import document_fetch

BASE = "/openai/v1"
UNKNOWN = {"model": "character:no-such-character"}


def _schema():
    from apps.api.openai.openapi import openapi_document

    return openapi_document()


MATRIX = isolation.matrix(_schema())
HELLO = [{"role": "user", "content": "Hello"}]
BODIES = {
    "chat": lambda model: {"model": model, "messages": HELLO},
    "chat with a user": lambda model: {"model": model, "messages": HELLO, "user": "u-1"},
    "stream": lambda model: {"model": model, "messages": HELLO, "stream": True},
    "stream with a user": lambda model: {"model": model, "messages": HELLO, "user": "u-1", "stream": True},
}


@pytest.fixture
def schema(db):
    return document_fetch(APIClient(), f"{BASE}/openapi.json")


class Tenant:
    def __init__(self, issued, slug: str) -> None:
        self.app = issued.api_key.app
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
        self.character = character_publish(self.app, slug=slug, greeting="hi").character
        self.model = f"character:{slug}"
        self.client.post(f"{BASE}/chat/completions", BODIES["chat with a user"](self.model), format="json")

    def ids(self) -> set[str]:
        return {
            self.app.id,
            self.character.id,
            self.model,
            *Session.objects.filter(app=self.app).values_list("id", flat=True),
        }


@pytest.fixture
def tenant_a(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return Tenant(owner, "alpha-luna")


@pytest.fixture
def tenant_b(other):
    return Tenant(other, "beta-luna")


def test_the_matrix_covers_every_model_path_of_the_document(schema):
    assert isolation.id_paths(schema) == ["/models/{model}"] and {path for path, _ in MATRIX} == {"/models/{model}"}
    assert set(isolation.list_paths(schema)) == {"/models"}


@pytest.mark.parametrize(("path", "method"), MATRIX, ids=isolation.matrix_ids(MATRIX))
def test_another_apps_character_looks_exactly_like_a_model_that_does_not_exist(path, method, tenant_a, tenant_b):
    values = {"model": tenant_a.model}
    counts = row_counts()
    foreign = getattr(tenant_b.client, method)(isolation.url(path, values, prefix=BASE))
    unknown = getattr(tenant_b.client, method)(isolation.url(path, UNKNOWN, prefix=BASE))
    expected = 404 if isolation.operation(_schema(), path, method) else 405
    assert (foreign.status_code, unknown.status_code) == (expected, expected)
    assert isolation.without_ids(foreign.json(), values) == isolation.without_ids(unknown.json(), UNKNOWN)
    assert not isolation.leaked(foreign.content.decode(), tenant_a.ids() - set(values.values()))
    assert row_counts() == counts


@pytest.mark.parametrize("kind", list(BODIES))
def test_a_completion_on_another_apps_character_is_the_unknown_models_404(
    kind, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    counts = row_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        foreign = tenant_b.client.post(f"{BASE}/chat/completions", BODIES[kind](tenant_a.model), format="json")
        unknown = tenant_b.client.post(f"{BASE}/chat/completions", BODIES[kind](UNKNOWN["model"]), format="json")
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert foreign["Content-Type"].startswith("application/json")  # refused before any frame
    assert foreign.json()["error"]["code"] == "model_not_found"
    # The message names the model or its slug that was asked for.
    asked = {"model": tenant_a.model, "slug": tenant_a.character.slug}
    assert isolation.without_ids(foreign.json(), asked) == isolation.without_ids(unknown.json(), _unknown_asked())
    assert not isolation.leaked(foreign.content.decode(), tenant_a.ids() - set(asked.values()))
    assert (row_counts(), callbacks) == (counts, [])


def _unknown_asked() -> dict[str, str]:
    return {**UNKNOWN, "slug": UNKNOWN["model"].removeprefix("character:")}


def test_an_image_on_another_apps_character_is_the_unknown_models_404(tenant_a, tenant_b):
    counts = row_counts()
    foreign = tenant_b.client.post(
        f"{BASE}/images/generations", {"prompt": "x", "model": tenant_a.model}, format="json"
    )
    unknown = tenant_b.client.post(
        f"{BASE}/images/generations", {"prompt": "x", "model": UNKNOWN["model"]}, format="json"
    )
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert isolation.without_ids(foreign.json(), {"model": tenant_a.model}) == isolation.without_ids(
        unknown.json(), UNKNOWN
    )
    assert row_counts() == counts


def test_the_model_list_never_shows_another_apps_characters(tenant_a, tenant_b):
    response = tenant_b.client.get(f"{BASE}/models")
    assert response.status_code == 200
    assert not isolation.leaked(response.content.decode(), tenant_a.ids())
    assert tenant_b.model in {model["id"] for model in response.json()["data"]}


def test_the_owner_gets_the_same_requests_answered(tenant_a):
    assert tenant_a.client.get(f"{BASE}/models/{tenant_a.model}").status_code == 200
    for kind, body in BODIES.items():
        response = tenant_a.client.post(f"{BASE}/chat/completions", body(tenant_a.model), format="json")
        assert response.status_code == 200, (kind, response.content[:300])
        if body(tenant_a.model).get("stream"):
            b"".join(response.streaming_content)
