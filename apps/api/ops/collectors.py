"""Gauges read when Prometheus scrapes, not recorded as they happen: queue depth, unfinished runs, and the age of
the oldest webhook delivery still to send. Each read is one indexed query or one Redis pipeline, given up after
READINESS_TIMEOUT_SECONDS; a failed read drops its gauge from that scrape rather than failing the scrape."""

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.conversations import selectors as conversation_selectors
from apps.core import clock, executor, readiness
from apps.delivery import selectors as delivery_selectors

logger = logging.getLogger(__name__)


class ScrapeTimeCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        for read in (_queue_depth, _runs_unfinished, _webhook_oldest_pending):
            try:
                yield readiness.bounded(read)
            except Exception as error:  # a dependency down: /readyz names it; the scrape keeps the rest
                logger.warning("Metric %s not read: %s", read.__name__.strip("_"), error)


def _queue_depth() -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        "dramatis_queue_depth",
        "Tasks waiting on each work queue (the broker's lists, read at scrape).",
        labels=["queue"],
    )
    for queue, depth in executor.queue_depths().items():
        gauge.add_metric([queue], depth)
    return gauge


def _runs_unfinished() -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        "dramatis_runs_unfinished", "Runs accepted and not finished, by status (from the database).", labels=["status"]
    )
    for status, count in conversation_selectors.runs_unfinished_counts().items():
        gauge.add_metric([status], count)
    return gauge


def _webhook_oldest_pending() -> GaugeMetricFamily:
    oldest = delivery_selectors.webhook_oldest_pending_created_at()
    age = max(0.0, (clock.now() - oldest).total_seconds()) if oldest is not None else 0.0
    return GaugeMetricFamily(
        "dramatis_webhook_oldest_pending_age_seconds",
        "Age of the oldest webhook delivery still to send (0 when none is pending).",
        value=age,
    )
