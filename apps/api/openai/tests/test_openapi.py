"""``/openai/v1/openapi.json`` documents every route of the surface with the methods its view answers, and real
responses of every endpoint (successes and errors, both kinds of completion) validate against it."""

import pytest

from apps.api.openai import urls
from tests.openapi_documents import document_fetch, documented_routes, response_check, routes

pytestmark = pytest.mark.django_db

BASE = "/openai/v1"
UNDOCUMENTED = {"openai-openapi", "openai-not-found"}  # the document itself, and the catch-all 404


@pytest.fixture
def document(anon):
    return document_fetch(anon, f"{BASE}/openapi.json")


def test_every_route_and_method_is_documented_and_nothing_else(document):
    assert documented_routes(document) == routes(urls.urlpatterns, undocumented=UNDOCUMENTED)
    assert (
        urls.urlpatterns[-1].name == "openai-not-found"
    )  # the catch-all: the only route left out besides the document


def test_responses_match_the_document(api, anon, luna, theirs, document):
    def post(path, body, client=api):
        return client.post(BASE + path, body, format="json")

    response_check(document, "/models", "get", api.get(f"{BASE}/models"))
    response_check(document, "/models", "get", anon.get(f"{BASE}/models"))
    response_check(document, "/models/{model}", "get", api.get(f"{BASE}/models/character:luna"))
    response_check(document, "/models/{model}", "get", api.get(f"{BASE}/models/scripted"))
    response_check(document, "/models/{model}", "get", api.get(f"{BASE}/models/character:theirs"))
    hello = [{"role": "user", "content": "Hello"}]
    for body in (
        {"model": "character:luna", "messages": hello, "user": "u1"},
        {"model": "character:luna", "messages": hello},
        {"model": "scripted", "messages": [{"role": "system", "content": "Be brief."}, *hello]},
        {"model": "character:theirs", "messages": hello},
        {"model": "scripted", "messages": []},
    ):
        response_check(document, "/chat/completions", "post", post("/chat/completions", body))
    streamed = post("/chat/completions", {"model": "character:luna", "messages": hello, "stream": True})
    response_check(document, "/chat/completions", "post", streamed, "text/event-stream")
    b"".join(streamed.streaming_content)
    response_check(document, "/images/generations", "post", post("/images/generations", {"prompt": "A cat"}))
    b64 = {"prompt": "A cat", "response_format": "b64_json", "size": "64x64"}
    response_check(document, "/images/generations", "post", post("/images/generations", b64))
    response_check(document, "/images/generations", "post", post("/images/generations", {"prompt": "A cat", "n": 9}))
