"""The event bus: what a transaction writes reaches the sinks named in ``settings.EVENT_SINKS``.

Apps announce with ``events_emit(topic=..., events=[...])`` inside the transaction that wrote the events.
Two topics are announced:

- ``SESSION_EVENTS``: a conversation session's event log (``conversations``), each event the public dict of
  an ``Event`` with its cursor: what SSE, WebSockets, webhooks and Telegram deliver;
- ``PERSONA_EVENTS``: molroo's events of a persona (emotion) session (``personas.events``), with no cursor:
  ``turn_result``, ``stage_transition``, ``emotional_overflow``, ``proactive_action``, ``session_deleted``.

A sink is a class named by its dotted path (the way Django names its backends), made once per process. It
lists the topics it takes in ``topics`` (without one, session events only: what a sink listed in
``EVENT_SINKS`` was given before persona events joined this registry) and has any of:

- ``record(events)``, called inside the writing transaction: what it writes commits or rolls back with the
  events (so webhook delivery rows are never missing for a committed event). An error there fails the write.
- ``publish(events)``, called after commit: it must not block for long and owns its own retries; an error
  is logged and the other sinks still run (the events are durable already).
- ``flash(frames)``, called at once by ``events_flash`` with ephemeral frames that are not events and are
  never stored (a reply's ``message.delta`` text while the model writes it): for live listeners only, best
  effort, so an error is logged and dropped.

The announcing apps import only this module and the ``delivery`` app provides the sinks, so no announcer
imports ``delivery``. ``PERSONA_EVENT_SINKS`` (a second list for persona events) is gone: its sinks are
listed in ``EVENT_SINKS`` with the others, and settings refuse to start while it is still set.

Native turns announce persona events too. A native session's emotion lives in its character's persona
session (its id is the session state's ``persona_session_id``, readable through ``/emotion/v1``), and a
native turn applies its emotion step with the same ``personas`` service as an ``/emotion/v1`` turn, so it
emits that persona session's events like any other turn: ``turn_result`` (``origin`` ``native:<run id>``)
to the emotion WebSocket, ``stage_transition`` and ``emotional_overflow`` to the webhooks registered on the
persona session. One emotion session, one stream of its events, whichever surface drove the turn. Their
route lookup is cached, so a turn whose persona session has no webhook costs no statement for them.
"""

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

SESSION_EVENTS = "session"
PERSONA_EVENTS = "persona"
_DEFAULT_TOPICS = (SESSION_EVENTS,)


class EventSink(Protocol):
    """What ``EVENT_SINKS`` lists (``record`` and ``publish`` are each optional)."""

    topics: tuple[str, ...]

    def record(self, events: list[dict[str, Any]]) -> None: ...

    def publish(self, events: list[dict[str, Any]]) -> None: ...


@dataclass(frozen=True)
class _TopicSinks:
    recorders: tuple[EventSink, ...]
    publishers: tuple[EventSink, ...]
    flashers: tuple[EventSink, ...] = ()


@cache
def _sinks_by_topic(paths: tuple[str, ...]) -> dict[str, _TopicSinks]:
    sinks = [import_string(path)() for path in paths]
    takers: dict[str, list[EventSink]] = {}
    for sink in sinks:
        for topic in getattr(sink, "topics", _DEFAULT_TOPICS):
            takers.setdefault(topic, []).append(sink)
    return {
        topic: _TopicSinks(
            recorders=tuple(sink for sink in topic_sinks if hasattr(sink, "record")),
            publishers=tuple(sink for sink in topic_sinks if hasattr(sink, "publish")),
            flashers=tuple(sink for sink in topic_sinks if hasattr(sink, "flash")),
        )
        for topic, topic_sinks in takers.items()
    }


def events_emit(*, topic: str, events: list[dict[str, Any]]) -> None:
    """Hand ``events`` to the sinks of ``topic``: ``record`` now, in the caller's transaction, and ``publish``
    once it commits (at once outside a transaction)."""
    if not events:
        return
    sinks = _sinks_by_topic(tuple(settings.EVENT_SINKS)).get(topic)
    if sinks is None:
        return
    for sink in sinks.recorders:
        sink.record(events)
    if sinks.publishers:
        transaction.on_commit(lambda: _publish(sinks.publishers, events))


def _publish(publishers: tuple[EventSink, ...], events: list[dict[str, Any]]) -> None:
    for sink in publishers:
        try:
            sink.publish(events)
        except Exception:  # a broken sink must not break the others; the events are durable already
            logger.exception("Event sink %s failed", type(sink).__name__)


def events_flash(*, topic: str, events: list[dict[str, Any]]) -> None:
    """Hand ephemeral ``events`` (frames nobody stores) to the ``flash`` of the sinks of ``topic``, now, whether
    or not a transaction is open: they describe work in progress, not committed state."""
    sinks = _sinks_by_topic(tuple(settings.EVENT_SINKS)).get(topic)
    if sinks is None:
        return
    for sink in sinks.flashers:
        try:
            sink.flash(events)
        except Exception:  # live listeners only: a lost frame is not worth failing the work that sent it
            logger.exception("Event sink %s failed to flash", type(sink).__name__)
