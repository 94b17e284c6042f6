"""Fixtures of the emotion surface's contract tests: molroo's error body and "nothing was written"."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from apps.core.events import PERSONA_EVENTS
from apps.delivery.models import WebhookDelivery, WebhookEndpoint
from apps.personas.models import PersonaRelationship, PersonaSession, ProactiveAction


class RecordingPersonaSink:
    """Keeps what persona services record (inside their transaction) and publish (after commit)."""

    topics = (PERSONA_EVENTS,)
    recorded: list[dict] = []
    published: list[dict] = []

    def record(self, events: list[dict]) -> None:
        RecordingPersonaSink.recorded.extend(events)

    def publish(self, events: list[dict]) -> None:
        RecordingPersonaSink.published.extend(events)


@pytest.fixture(autouse=True)
def persona_events(settings):
    settings.EVENT_SINKS = ["apps.api.emotion.tests.conftest.RecordingPersonaSink", *settings.EVENT_SINKS]
    RecordingPersonaSink.recorded.clear()
    RecordingPersonaSink.published.clear()
    return RecordingPersonaSink


def assert_error(response, status: int, code: str, *, fields: list[str] | None = None) -> dict:
    """molroo's error contract: the status and ``{"error": {code, status, message}}``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    if fields is not None:
        assert sorted(error["details"]["fields"]) == sorted(fields), error
    return error


def row_snapshot() -> list:
    """Every persona row and its mutable columns, so a failed request provably changed nothing."""
    return [
        list(
            PersonaSession.objects.order_by("pk").values_list(
                "pk", "state", "relationship", "turn_count", "proactive_enabled", "proactive_preferences"
            )
        ),
        list(PersonaRelationship.objects.order_by("pk").values_list("pk", "state")),
        list(ProactiveAction.objects.order_by("pk").values_list("pk", "acknowledged_at")),
        list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "status")),
        WebhookDelivery.objects.count(),
    ]


@pytest.fixture
def nothing_written(db, django_capture_on_commit_callbacks, persona_events):
    @contextmanager
    def check() -> Iterator[None]:
        before = row_snapshot()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield
        assert row_snapshot() == before
        assert callbacks == []
        assert persona_events.recorded == [] and persona_events.published == []

    return check


@pytest.fixture
def persona(api):
    """A session created from a preset through the API; returns its id."""
    response = api.post("/emotion/v1/persona", {"preset": "cheerful_companion"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["sessionId"]
