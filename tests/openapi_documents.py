"""Checks shared by the tests of the hand-written OpenAPI documents (npc, openai): the document is valid, it
documents every route of the surface's URLconf with exactly the methods its view answers, and a real response
is one the document allows (status, content type, body)."""

import re

from django.urls import URLPattern
from jsonschema import Draft202012Validator

METHODS = ("get", "post", "put", "patch", "delete")


def document_fetch(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    document = response.json()
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    return document


def routes(urlpatterns, *, prefix: str = "", undocumented: set[str]) -> dict[str, set[str]]:
    """Each route of ``urlpatterns`` (but the ``undocumented`` names) as a documented path (``{param}``, without
    ``prefix``), with the methods its view class answers."""
    found = {}
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in undocumented:
            continue
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        assert route.startswith(prefix), route
        view = pattern.callback.view_class
        found["/" + route.removeprefix(prefix)] = {method for method in METHODS if hasattr(view, method)}
    return found


def documented_routes(document: dict) -> dict[str, set[str]]:
    return {path: {method for method in item if method in METHODS} for path, item in document["paths"].items()}


def response_check(document: dict, path: str, method: str, response, media: str = "application/json") -> None:
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, (path, method, response.status_code, response.content[:300])
    content = responses[str(response.status_code)]["content"]
    assert response["Content-Type"].startswith(media) and media in content, (path, response["Content-Type"])
    if media == "application/json":
        schema = {**content[media]["schema"], "components": document["components"]}
        Draft202012Validator(schema).validate(response.json())
