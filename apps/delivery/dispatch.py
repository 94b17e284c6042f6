"""How delivery rows reach a sender, following ``settings.RUN_EXECUTOR`` like the runs do.

- ``celery``: a task on the broker; any worker sends it.
- ``inprocess`` (embedded default): a small thread pool in the web process.
- ``inline``: at once in the caller's thread (tests).

A lost hand-off loses nothing: the rows are due in the database and the sweep sends them.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.25, "interval_max": 0.5}


def deliveries_dispatch(*, delivery_ids: list[int]) -> None:
    """Hand the rows to a sender; never raises (the sweep covers anything that does not get through)."""
    if not delivery_ids:
        return
    try:
        if settings.RUN_EXECUTOR == "celery":
            from apps.delivery import tasks

            tasks.webhook_deliveries_send_task.apply_async(
                args=[delivery_ids],
                retry=True,
                retry_policy=_PUBLISH_RETRY,
                argsrepr=f"[{len(delivery_ids)} deliveries]",
                kwargsrepr="{}",
            )
        elif settings.RUN_EXECUTOR == "inline":
            _send(delivery_ids)
        else:
            _inprocess_pool().submit(_send_and_close, delivery_ids)
    except (BrokerUnavailable, OSError) as error:
        logger.warning(
            "Could not hand %d webhook deliveries to a sender (%s); the sweep will", len(delivery_ids), error
        )


def _send(delivery_ids: list[int]) -> None:
    from apps.delivery import services

    services.webhook_deliveries_send(delivery_ids=delivery_ids)


def _send_and_close(delivery_ids: list[int]) -> None:
    try:
        _send(delivery_ids)
    except Exception:  # the rows stay pending; the sweep retries them after the lease
        logger.exception("In-process webhook send failed")
    finally:
        close_old_connections()


def _inprocess_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dramatis-webhook")
        return _pool
