"""The error tables in the integrator docs list every status and code the surfaces can answer with.

The statuses and codes come from the code itself (every error class of the platform, rendered by each
surface's own renderer), so a new error without a row in the docs fails here.
"""

import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions as drf

from apps.api.emotion import errors as emotion_errors
from apps.api.native import errors as native_errors
from apps.core.errors import ApplicationError

DOCS = Path(settings.BASE_DIR) / "docs" / "integrators"
# Reported as run.failed codes on the event log, never as an HTTP answer of /v1.
RUN_FAILED_ONLY = {"llm_unavailable", "llm_error", "run_abandoned"}
# Reported as image.failed codes on the event log (an image is drawn after the reply), never as an HTTP answer.
IMAGE_FAILED_ONLY = {"image_backend_failed"}
# Answered to Telegram on /hooks/telegram/..., not to integrators.
HOOKS_ONLY = {"missing_webhook_secret", "invalid_webhook_secret", "invalid_update"}
# Raised only behind /emotion/v1, whose table has them in molroo's spelling.
EMOTION_ONLY = {"invalid_preset"}
# A provider's refusal of a caller's own key: only /npc/api/v1 takes such keys (its X-LLM-* headers).
OWN_KEY_ONLY = {"llm_key_refused"}
# Raised only by the admin's version pages (answered there as a 404 page), not by any API surface yet.
ADMIN_ONLY = {"character_version_not_found"}


def _npc_only(error: ApplicationError) -> bool:
    """The npcs app's errors are answered only behind /npc/api/v1, in Foil's shape ({"error": {"message"}})."""
    return type(error).__module__.startswith("apps.npcs.")


def _playground_only(error: ApplicationError) -> bool:
    """The playground's own errors are answered only by its JSON views (docs/playground.md lists them)."""
    return type(error).__module__.startswith("apps.api.playground.")


DRF_FAILURES = [
    drf.NotAuthenticated(),
    drf.AuthenticationFailed(),
    drf.PermissionDenied(),
    drf.NotFound(),
    drf.MethodNotAllowed("DELETE"),
    drf.NotAcceptable(),
    drf.UnsupportedMediaType("text/plain"),
    drf.Throttled(wait=3),
    drf.ParseError(),
    drf.ValidationError({"text": ["This field is required."]}),
    RequestDataTooBig(),
    Http404(),
    OperationalError(),
]


def _every_application_error() -> list[ApplicationError]:
    for app in ("core", "accounts", "llm", "characters", "assets", "personas", "conversations", "delivery"):
        importlib.import_module(f"apps.{app}.errors")
    importlib.import_module("apps.personas.engine.errors")
    importlib.import_module("apps.delivery.telegram.errors")

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    errors = []
    for cls in set(walk(ApplicationError)):
        error = cls.__new__(cls)
        ApplicationError.__init__(error, "message")
        errors.append(error)
    return errors


def _table(path: Path, header: str) -> list[list[str]]:
    text = path.read_text()
    rows = text[text.index(header) :].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_native_table_has_every_status_and_code():
    table = {
        int(status): set(re.findall(r"`([a-z][a-z0-9_]*)`", codes))  # card_invalid_base64 has digits
        for status, codes in _table(DOCS / "events.md", "| status | codes |")
    }
    answers = set()
    for error in _every_application_error():
        skipped = RUN_FAILED_ONLY | IMAGE_FAILED_ONLY | EMOTION_ONLY | HOOKS_ONLY | OWN_KEY_ONLY | ADMIN_ONLY
        if error.code in skipped or _npc_only(error) or _playground_only(error):
            continue
        body, status, _ = native_errors.render_error(error)
        answers.add((status, body["detail"]["code"]))
    for failure in DRF_FAILURES:
        body, status, _ = native_errors.render_error(failure)
        answers.add((status, body["detail"]["code"]))
    answers.add((500, "internal_error"))  # handler500
    assert {415, 401, 403, 413} <= {status for status, _ in answers}
    missing = sorted((status, code) for status, code in answers if code not in table.get(status, set()))
    assert missing == []
    assert set(table) == {status for status, _ in answers}  # and no row for a status nothing answers


def test_run_failed_codes_are_documented_next_to_the_table():
    text = (DOCS / "events.md").read_text()
    assert all(f"`{code}`" in text.split("`run.failed` codes:", 1)[1] for code in RUN_FAILED_ONLY)


def test_the_emotion_table_has_every_status_and_code_of_molroos_shape():
    table = {
        (code.strip("`"), int(status))
        for code, status, _ in _table(DOCS / "emotion-api.md", "| code | status | when |")
    }
    answers = set()
    # (DRF's PermissionDenied is left out: nothing behind /emotion/v1 raises it.)
    failures = [failure for failure in DRF_FAILURES if not isinstance(failure, drf.PermissionDenied)]
    for failure in [*failures, *(e for e in _every_application_error() if e.code in EMOTION_ONLY)]:
        body, status, _ = emotion_errors.render_error(failure)
        answers.add((body["error"]["code"], status))
    answers.add(("PAYLOAD_TOO_LARGE", 413))  # the size-limit middleware's answer
    assert ("PAYLOAD_TOO_LARGE", 413) in answers and ("UNAUTHORIZED", 401) in answers
    assert sorted(answers - table) == []


@pytest.mark.parametrize("doc", ["events.md", "emotion-api.md"])
def test_the_docs_say_why_the_surfaces_differ_on_401_and_403(doc):
    text = (DOCS / doc).read_text()
    assert "LoreOS" in text and "molroo" in text and "403" in text and "401" in text


def test_the_openai_table_has_every_status_and_type():
    from apps.api.openai import errors as openai_errors

    table: dict[int, set[str]] = {}
    for status, kinds, *_ in _table(DOCS / "openai-api.md", "| status | `type` / `code` | when |"):
        table.setdefault(int(status), set()).update(re.findall(r"`([a-z_]+)`", kinds.split("/")[0]))
    answers = set()
    for failure in [*DRF_FAILURES, *_every_application_error()]:
        rendered = openai_errors.render_error(failure)
        if rendered is None:  # a bug's 500 (RequestDataTooBig never reaches a view: the middleware answers 413)
            continue
        body, status, _ = rendered
        answers.add((status, body["error"]["type"]))
    answers |= {(413, "invalid_request_error"), (500, "server_error")}  # the middleware's 413, a bug's 500
    missing = sorted((status, type_) for status, type_ in answers if type_ not in table.get(status, set()))
    assert missing == []
    assert set(table) == {status for status, _ in answers}
