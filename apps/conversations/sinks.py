"""Announcing committed events to the sinks named in ``settings.EVENT_SINKS``.

A sink is any class with ``publish(events: list[dict]) -> None`` that must not block for long and must
not raise for delivery problems (it owns its own retries). The pipeline calls this after commit; the
delivery app provides the real sinks, so this app never imports it.

A sink may also define ``record(events: list[dict]) -> None``, called inside the appending transaction:
what it writes there commits (or rolls back) with the events, which is how webhook delivery rows can
never be missing for a committed event. An error there fails the append.
"""

import logging
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@cache
def _load(paths: tuple[str, ...]) -> list:
    return [import_string(path)() for path in paths]


def events_record(events: list[dict]) -> None:
    for sink in _load(tuple(settings.EVENT_SINKS)):
        record = getattr(sink, "record", None)
        if record is not None:
            record(events)


def events_announce(events: list[dict]) -> None:
    for sink in _load(tuple(settings.EVENT_SINKS)):
        try:
            sink.publish(events)
        except Exception:  # a broken sink must not break the turn; the event is durable in the log
            logger.exception("Event sink %s failed", type(sink).__name__)
