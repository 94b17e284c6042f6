"""The event bus: one registry (``EVENT_SINKS``), each sink takes its topics; ``record`` inside the writing
transaction, ``publish`` after commit; a broken publisher never stops the others."""

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings as project_settings
from django.db import transaction

from apps.core import events
from apps.core.events import PERSONA_EVENTS, SESSION_EVENTS, events_emit

pytestmark = pytest.mark.django_db

log: list[tuple[str, list[dict]]] = []


class SessionSink:
    """No ``topics``: session events only, as every sink listed before persona events joined the registry."""

    def record(self, batch: list[dict]) -> None:
        log.append(("session.record", batch))

    def publish(self, batch: list[dict]) -> None:
        log.append(("session.publish", batch))


class PersonaSink:
    topics = (PERSONA_EVENTS,)

    def record(self, batch: list[dict]) -> None:
        log.append(("persona.record", batch))


class BothPublisher:
    topics = (SESSION_EVENTS, PERSONA_EVENTS)
    made = 0

    def __init__(self) -> None:
        BothPublisher.made += 1

    def publish(self, batch: list[dict]) -> None:
        log.append(("both.publish", batch))


class BrokenPublisher:
    topics = (SESSION_EVENTS,)

    def publish(self, batch: list[dict]) -> None:
        raise RuntimeError("sink down")


@pytest.fixture(autouse=True)
def sinks(settings):
    log.clear()
    settings.EVENT_SINKS = [f"{__name__}.{name}" for name in ("SessionSink", "PersonaSink", "BothPublisher")]


def _names() -> list[str]:
    return [name for name, _ in log]


def test_each_topic_reaches_only_the_sinks_that_take_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events_emit(topic=SESSION_EVENTS, events=[{"cursor": 1}])
        events_emit(topic=PERSONA_EVENTS, events=[{"type": "turn_result"}])
        assert _names() == ["session.record", "persona.record"]  # inside the transaction: record only
    assert _names() == ["session.record", "persona.record", "session.publish", "both.publish", "both.publish"]
    assert log[2][1] is log[0][1]  # one list for record and publish: a sink may carry what it read across


def test_a_rolled_back_write_publishes_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events_emit(topic=SESSION_EVENTS, events=[{"cursor": 1}])
        raise RuntimeError("the write fails")
    assert _names() == ["session.record"] and callbacks == []


def test_no_events_or_no_sink_for_the_topic_costs_nothing(settings, django_capture_on_commit_callbacks):
    settings.EVENT_SINKS = [f"{__name__}.SessionSink"]
    with django_capture_on_commit_callbacks() as callbacks:
        events_emit(topic=SESSION_EVENTS, events=[])
        events_emit(topic=PERSONA_EVENTS, events=[{"type": "turn_result"}])
    assert log == [] and callbacks == []


def test_a_broken_publisher_is_logged_and_the_others_still_publish(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.EVENT_SINKS = [f"{__name__}.BrokenPublisher", f"{__name__}.BothPublisher"]
    with caplog.at_level(logging.ERROR, logger="apps.core.events"), django_capture_on_commit_callbacks(execute=True):
        events_emit(topic=SESSION_EVENTS, events=[{"cursor": 1}])
    assert _names() == ["both.publish"]
    assert "BrokenPublisher failed" in caplog.text


def test_the_sinks_are_made_once_per_registry(settings):
    events._sinks_by_topic.cache_clear()
    BothPublisher.made = 0
    for _ in range(3):
        events_emit(topic=PERSONA_EVENTS, events=[{"type": "turn_result"}])
    assert BothPublisher.made == 1


def test_the_old_persona_registry_is_refused_with_what_to_do():
    env = {**os.environ, "PERSONA_EVENT_SINKS": "apps.delivery.persona_sinks.PersonaSocketSink"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    started = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=project_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0
    assert "PERSONA_EVENT_SINKS is gone: list its sinks in EVENT_SINKS" in started.stderr
