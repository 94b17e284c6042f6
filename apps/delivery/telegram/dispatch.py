"""Where chat drains run, following ``settings.RUN_EXECUTOR`` like the runs do.

- ``celery`` (production): a task on the broker, delayed by the wait a 429 or a backoff asked for.
- ``inprocess`` (embedded default): a small thread pool in the web process (a timer for delayed drains).
- ``inline`` (tests): at once in the caller's thread; delayed drains are left to the sweep.

A lost hand-off loses nothing: the rows and the unscanned events are in the database and the sweep
(``telegram_deliveries_sweep_task``) drains the chat again.
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


def telegram_chat_drain_dispatch(*, chat_id: int, countdown: float = 0.0) -> None:
    """Hand a chat's drain to the configured executor; never raises."""
    try:
        if settings.RUN_EXECUTOR == "celery":
            from apps.delivery.telegram import tasks

            tasks.telegram_chat_drain_task.apply_async(
                args=[chat_id],
                countdown=countdown or None,
                retry=True,
                retry_policy=_PUBLISH_RETRY,
                argsrepr=f"[{chat_id}]",
                kwargsrepr="{}",
            )
        elif settings.RUN_EXECUTOR == "inline":
            if not countdown:
                drain_and_reschedule(chat_id)
        elif countdown:
            timer = threading.Timer(countdown, lambda: _inprocess_pool().submit(_inprocess_job, chat_id))
            timer.daemon = True
            timer.start()
        else:
            _inprocess_pool().submit(_inprocess_job, chat_id)
    except (BrokerUnavailable, OSError) as error:
        logger.warning("Could not hand Telegram chat %s to a sender (%s); the sweep will", chat_id, error)


def drain_and_reschedule(chat_id: int) -> None:
    from apps.delivery.telegram.services import outbound

    retry_in = outbound.telegram_chat_drain(chat_id=chat_id)
    if retry_in is not None:
        telegram_chat_drain_dispatch(chat_id=chat_id, countdown=max(retry_in, 0.05))


def _inprocess_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dramatis-telegram")
        return _pool


def _inprocess_job(chat_id: int) -> None:
    try:
        drain_and_reschedule(chat_id)
    except Exception:  # the rows stay pending; the sweep drains the chat again
        logger.exception("In-process Telegram drain of chat %s crashed", chat_id)
    finally:
        close_old_connections()


def telegram_sweep() -> list[int]:
    """Drain every chat with due rows or unscanned events (beat, and the embedded scheduler)."""
    from apps.delivery.telegram.services import outbound

    chat_ids = outbound.telegram_chats_due()
    for chat_id in chat_ids:
        telegram_chat_drain_dispatch(chat_id=chat_id)
    return chat_ids
