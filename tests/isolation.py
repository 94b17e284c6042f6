"""The tenant-isolation matrix of an API surface, built from its OpenAPI document, for every surface's tests.

A surface's isolation test fetches its served schema, asks ``id_paths``/``matrix`` for every (path, method) with
an id in the path, fills the path with another app's ids and with ids that do not exist (``url``), and compares
the two answers with ``without_ids`` (error messages may echo the requested id) and ``leaked`` (none of the owner's
ids may show). ``rows`` snapshots tables to prove a refused request wrote nothing. ``schema_routes`` and
``mounted_routes`` compare a document with the URL patterns Django serves under a mount, so that a new route
without a schema fails a test.
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db.models import Model, QuerySet
from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"\{(\w+)\}")


def path_params(path: str) -> list[str]:
    """The names of a templated path's parameters, in order."""
    return _PARAM.findall(path)


def id_paths(schema: Mapping[str, Any], *, excluded: Iterable[str] = ()) -> list[str]:
    """Every templated path of the document (those that name a resource), minus ``excluded``."""
    skip = set(excluded)
    return sorted(path for path in schema["paths"] if "{" in path and path not in skip)


def list_paths(schema: Mapping[str, Any]) -> list[str]:
    """Every untemplated path with a GET: the lists (and other reads) that must show only the caller's rows."""
    return sorted(path for path, item in schema["paths"].items() if "{" not in path and "get" in item)


def matrix(
    schema: Mapping[str, Any], *, excluded: Iterable[str] = (), methods: Iterable[str] = METHODS
) -> list[tuple[str, str]]:
    """(path, method) for every id path and every method, documented or not (an undocumented method must be
    refused the same way for another app's id and an unknown one)."""
    return [(path, method) for path in id_paths(schema, excluded=excluded) for method in methods]


def operation(schema: Mapping[str, Any], path: str, method: str) -> dict[str, Any] | None:
    return schema["paths"][path].get(method)


def matrix_ids(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Readable pytest ids for ``matrix`` pairs."""
    return [f"{method.upper()} {path}" for path, method in pairs]


def url(path: str, values: Mapping[str, str], *, prefix: str = "") -> str:
    """The path with its parameters filled from ``values`` (a missing name is a KeyError: the test must know it)."""
    return prefix + _PARAM.sub(lambda match: values[match.group(1)], path)


def without_ids(body: Any, values: Mapping[str, str]) -> Any:
    """``body`` with every requested id replaced by ``<id>`` (messages name the id that was asked for), so that
    the answers for another app's id and an unknown one can be compared exactly."""
    text = json.dumps(body)
    for value in sorted(values.values(), key=len, reverse=True):
        text = text.replace(json.dumps(value)[1:-1], "<id>")
    return json.loads(text)


def leaked(text: str, ids: Iterable[str]) -> list[str]:
    """Which of ``ids`` appear in a response's text."""
    return sorted(value for value in ids if value and value in text)


def rows(tables: Mapping[str, QuerySet | type[Model]]) -> dict[str, list[dict]]:
    """Every row of each query set (or model), every column, in primary-key order: equal before and after a
    refused request means it wrote nothing there."""
    snapshot = {}
    for name, source in tables.items():
        queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
        snapshot[name] = list(queryset.order_by("pk").values())
    return snapshot


# --- a schema against the URL patterns it documents -----------------------------------------------------------
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _walk(patterns, prefix: str) -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def mounted_routes(mount: str, *, ignored: Iterable[str] = ()) -> set[str]:
    """The routes Django serves under ``mount`` (e.g. ``"emotion/v1/"``), relative to it, with ``<name>`` turned
    into ``{name}``; regular-expression patterns (catch-all 404s) are left out, as are the routes in ``ignored``."""
    routes = set()
    for route in _walk(get_resolver().url_patterns, ""):
        if not route.startswith(mount) or route.startswith(mount + "^") or "^" in route[len(mount) :]:
            continue
        routes.add(_CONVERTER.sub(r"{\1}", route[len(mount) :]))
    return routes - set(ignored)


def schema_routes(schema: Mapping[str, Any]) -> set[str]:
    """The document's paths relative to its server, with parameter names normalised away, for comparison with
    ``mounted_routes``."""
    return {path.lstrip("/") for path in schema["paths"]}


def shapes(routes: Iterable[str]) -> set[str]:
    """Routes with their parameter names replaced by ``{}`` (a schema may name a parameter in camelCase)."""
    return {re.sub(r"\{\w+\}", "{}", route) for route in routes}
