"""What a log line is about: the request, app, session and run being handled, carried in a context variable.

The request middleware opens a scope per request (with its ``request_id``), the API's permission binds the
``app_id``, and a turn binds its ``session_id`` and ``run_ref`` once it has loaded its run; Celery tasks and
in-process jobs each start from an empty scope, so one task's fields never stick to the next on a reused
thread. ``ContextFilter`` (on the console handler, ``settings.LOGGING``) copies the fields onto every record,
where the JSON formatter writes them out. Binding costs one dict copy: cheap enough for every turn.
"""

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

FIELDS = ("request_id", "app_id", "session_id", "run_ref")

_fields: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("dramatis_log_fields", default={})  # noqa: B039 - never mutated: bind() replaces it


def bind(**fields: str | None) -> None:
    """Add ``fields`` (names from FIELDS) to the current scope; None values are left out."""
    known = {name: str(value) for name, value in fields.items() if value is not None}
    if known:
        _fields.set({**_fields.get(), **known})


def current() -> dict[str, str]:
    return _fields.get()


@contextmanager
def scope(**fields: str | None) -> Iterator[None]:
    """A fresh scope holding only ``fields``; the previous one comes back on exit."""
    token = _fields.set({})
    bind(**fields)
    try:
        yield
    finally:
        _fields.reset(token)


def clear() -> None:
    """Forget every field (a worker thread starting its next task)."""
    _fields.set({})


class ContextFilter(logging.Filter):
    """Put the current scope's fields on each record (as attributes the JSON formatter writes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _fields.get().items():
            if not hasattr(record, name):  # a field given explicitly with ``extra=`` wins
                setattr(record, name, value)
        return True
