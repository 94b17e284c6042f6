"""Prometheus metrics: the one module that knows prometheus-client. Domain code calls the small functions below.

Production runs several processes per machine (uvicorn's workers, Celery workers, beat), so the metrics use
prometheus-client's multiprocess mode: each process writes its samples to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` (set by the settings before this module is imported, since prometheus-client
reads it at import), and ``exposition()`` adds up every process's files at scrape time, so any web process's
``/metrics`` shows the whole machine. Recording is an in-memory add (microseconds), never a statement.

Values read at scrape time (queue depth, unfinished runs, the oldest pending webhook) are not stored here:
the surface that serves ``/metrics`` passes collectors for them to ``exposition()``.
"""

import contextlib
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from apps.core import clock

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Metrics are created once per process; in multiprocess mode the default registry is never exposed as such.
HTTP_REQUEST_SECONDS = Histogram(
    "dramatis_http_request_duration_seconds",
    "Time to answer an HTTP request (to the response headers for streams), by URL route and status class.",
    ["route", "method", "status"],
)
TURNS = Counter("dramatis_turns", "Turn attempts by kind and outcome.", ["kind", "outcome"])
RUN_SECONDS = Histogram(
    "dramatis_run_duration_seconds",
    "A run from accepted (its message) to finished (reply or failure written), by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300, 900),
)
WEBHOOK_LAG_SECONDS = Histogram(
    "dramatis_webhook_delivery_lag_seconds",
    "From an event's delivery row being written (with the event) to the receiver's 2xx.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 7200, 36000),
)
PROACTIVE_SENDS = Counter("dramatis_proactive_sends", "Messages and actions a character initiated.", ["kind"])
MODEL_CALLS = Counter("dramatis_model_calls", "Metered model calls by purpose and outcome.", ["purpose", "outcome"])
MODEL_TOKENS = Counter("dramatis_model_tokens", "Tokens of metered model calls, as reported.", ["purpose", "type"])

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    """One HTTP request. ``route`` must be a URL pattern (bounded), never the raw path."""
    HTTP_REQUEST_SECONDS.labels(route, method if method in _METHODS else "other", f"{status // 100}xx").observe(seconds)


def turn_finished(*, kind: str, outcome: str, accepted_at: datetime | None = None) -> None:
    """A turn attempt ended (``succeeded``, ``failed``, ``retried``, ``superseded``); a finished run (succeeded
    or failed) gives its ``accepted_at`` for the accepted-to-finished latency."""
    TURNS.labels(kind, outcome).inc()
    if accepted_at is not None:
        RUN_SECONDS.labels(kind, outcome).observe(max(0.0, (clock.now() - accepted_at).total_seconds()))


def webhook_delivered(*, created_at: datetime) -> None:
    WEBHOOK_LAG_SECONDS.observe(max(0.0, (clock.now() - created_at).total_seconds()))


def proactive_sent(*, kind: str) -> None:
    PROACTIVE_SENDS.labels(kind).inc()


def model_call_metered(*, purpose: str, outcome: str, prompt_tokens: int, completion_tokens: int) -> None:
    MODEL_CALLS.labels(purpose, outcome).inc()
    if prompt_tokens:
        MODEL_TOKENS.labels(purpose, "prompt").inc(prompt_tokens)
    if completion_tokens:
        MODEL_TOKENS.labels(purpose, "completion").inc(completion_tokens)


def exposition(collectors: Iterable[Collector] = ()) -> bytes:
    """The text exposition of every process's samples on this machine, plus ``collectors`` read now."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


_PID_IN_NAME = re.compile(r"_(\d+)\.db$")


def multiproc_dir_tidy(path: str | None = None) -> None:
    """Create the metrics folder and do prometheus-client's bookkeeping for processes that are gone (their live
    gauges' files). Counters and histograms of dead processes stay: their totals must not go backwards."""
    folder = Path(path or os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    pids = {int(match.group(1)) for name in os.listdir(folder) if (match := _PID_IN_NAME.search(name))}
    for pid in pids:
        if not _alive(pid):
            with contextlib.suppress(OSError):
                mark_process_dead(pid, str(folder))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
