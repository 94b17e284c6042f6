"""Events out to Telegram, in order per chat, at least once, each bubble sent once.

How an event travels:

1. The session's events are the durable source. ``telegram_chat_scan`` turns a bound chat's events after
   its ``scanned_cursor`` into delivery rows (unique per event and bot) and advances the cursor in the same
   transaction, so every event gets exactly one row even when scans race.
2. ``telegram_chat_drain`` takes the chat's lease (one sender per chat keeps the order), scans, and sends
   the pending rows oldest first: a character message as one ``sendMessage`` per bubble, recording each
   accepted bubble before the next, and ``run.status`` generating as ``sendChatAction`` typing, repeated
   every few seconds while the turn is generating and dropped the moment its reply (or failure) is there;
   an ``image.ready`` event (a selfie) as one multipart ``sendPhoto`` carrying the stored picture's bytes
   and its caption (the picture itself, never a URL).
3. A transient failure (no answer, 5xx, 429) stops the chat's queue until the row is due again:
   ``retry_after`` for a 429, exponential backoff otherwise, at most ``TELEGRAM_MAX_ATTEMPTS``. Permanent
   refusals (the user blocked the bot, chat not found) fail that row and the queue moves on.
4. The sink kicks a drain after each commit; the sweep (beat) kicks chats with due rows or unscanned
   events, so a lost kick or a crashed sender only delays a message.

A sender that dies after Telegram accepted a bubble but before recording it sends that bubble again when
the lease runs out: Telegram has no idempotency key, so this is the one at-least-once duplicate left.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from apps.assets import selectors as assets_selectors
from apps.conversations import selectors as conversation_selectors
from apps.core import clock, executor
from apps.core.errors import ApplicationError
from apps.delivery.telegram import bot_api, selectors
from apps.delivery.telegram.bot_api import BotApiError
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery, TelegramUpdate

logger = logging.getLogger(__name__)

MESSAGE_TYPES = ("message.created", "character.initiated")
TYPING_TYPE = "run.status"
PHOTO_TYPE = "image.ready"
TELEGRAM_CAPTION_LIMIT = 1024
TELEGRAM_TEXT_LIMIT = 4096
# Telegram shows "typing…" for 5 s, so it is sent again this often while the turn is still generating,
# for at most TYPING_MAX_SECONDS (a turn that takes longer ends in a reply or run.failed anyway).
TYPING_REPEAT_SECONDS = 4.5
TYPING_MAX_SECONDS = 120.0
SCAN_BATCH = 200
# Named, not imported: the tasks module imports these services.
DRAIN_TASK = "apps.delivery.telegram.tasks.telegram_chat_drain_task"


def event_is_deliverable(event: dict) -> bool:
    """Whether a bound session's event produces a Telegram send (what the sink filters on)."""
    if event["event_type"] in MESSAGE_TYPES:
        return event.get("role") == "character"
    if event["event_type"] == PHOTO_TYPE:
        return bool((event.get("payload") or {}).get("image_id"))
    return event["event_type"] == TYPING_TYPE and (event.get("payload") or {}).get("status") == "generating"


def _texts(payload: dict) -> list[str]:
    """The messages for one character event: its bubbles, each cut to Telegram's 4096-character limit."""
    bubbles = payload.get("bubbles") or ([payload["text"]] if payload.get("text") else [])
    texts: list[str] = []
    for bubble in bubbles:
        bubble = str(bubble).strip()
        texts.extend(bubble[i : i + TELEGRAM_TEXT_LIMIT] for i in range(0, len(bubble), TELEGRAM_TEXT_LIMIT))
    return texts


def telegram_chat_scan(*, chat_id: int) -> int:
    """Write delivery rows for the chat's events after ``scanned_cursor``; return how many were written."""
    with transaction.atomic():
        chat = TelegramChat.objects.select_for_update().filter(pk=chat_id).first()
        if chat is None:
            return 0
        events = conversation_selectors.event_list(
            session_id=chat.session_id, since=chat.scanned_cursor, limit=SCAN_BATCH
        )
        if not events:
            return 0
        finished_runs = {
            event.run_id
            for event in events
            if event.run_id
            and (
                event.event_type == "run.failed"
                or (event.event_type == "message.created" and event.role == "character")
            )
        }
        now = clock.now()
        rows = []
        for event in events:
            public = event.as_public_dict()
            if not event_is_deliverable(public):
                continue
            typing = event.event_type == TYPING_TYPE
            photo = event.event_type == PHOTO_TYPE
            kind = TelegramDelivery.Kind.TYPING if typing else TelegramDelivery.Kind.MESSAGE
            image_id = ""
            if photo:
                # The picture's bytes are uploaded when the row is sent (Telegram gets the image, not a URL).
                kind, image_id = TelegramDelivery.Kind.PHOTO, event.payload["image_id"]
                texts = [str(event.payload.get("caption") or "")[:TELEGRAM_CAPTION_LIMIT]]
            else:
                texts = [] if typing else _texts(event.payload)
            status = TelegramDelivery.Status.PENDING
            if (typing and event.run_id in finished_runs) or (not typing and not photo and not texts):
                status = TelegramDelivery.Status.SKIPPED
            rows.append(
                TelegramDelivery(
                    channel_id=chat.channel_id,
                    chat=chat,
                    event_id=public["event_id"],
                    event_type=event.event_type,
                    cursor=event.cursor,
                    kind=kind,
                    texts=texts,
                    image_id=image_id,
                    status=status,
                    next_attempt_at=now,
                )
            )
        TelegramDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        TelegramChat.objects.filter(pk=chat.pk).update(scanned_cursor=events[-1].cursor)
    return len(rows)


def _lease_take(chat_id: int) -> bool:
    now = clock.now()
    until = now + timedelta(seconds=settings.TELEGRAM_LEASE_SECONDS)
    return bool(
        TelegramChat.objects.filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now), pk=chat_id).update(
            lease_expires_at=until
        )
    )


def _lease_release(chat_id: int) -> None:
    TelegramChat.objects.filter(pk=chat_id).update(lease_expires_at=None)


def _backoff(attempts: int) -> float:
    return min(settings.TELEGRAM_RETRY_BACKOFF_SECONDS * (2 ** (attempts - 1)), 600.0)


@dataclass(frozen=True)
class SendOutcome:
    delivered: bool
    retry_in: float | None = None


def _fail(delivery: TelegramDelivery, error: BotApiError, *, attempts: int) -> None:
    TelegramDelivery.objects.filter(pk=delivery.pk).update(
        status=TelegramDelivery.Status.FAILED,
        attempts=attempts,
        last_status_code=error.error_code,
        last_error=error.description[:500],
    )
    if error.unauthorized:
        TelegramChannel.objects.filter(pk=delivery.channel_id).update(
            status=TelegramChannel.Status.UNAUTHORIZED,
            last_error="Telegram refuses the bot token (revoked or replaced in @BotFather).",
        )


def _typing_over(delivery: TelegramDelivery, session_id: str) -> bool:
    """Whether the turn a typing row announces is over: its reply or failure is in the log, a message is
    already queued after it, or it has been going on for longer than TYPING_MAX_SECONDS."""
    if (clock.now() - delivery.created_at).total_seconds() > TYPING_MAX_SECONDS:
        return True
    later = TelegramDelivery.objects.filter(chat_id=delivery.chat_id, cursor__gt=delivery.cursor)
    if later.filter(kind=TelegramDelivery.Kind.MESSAGE).exclude(status=TelegramDelivery.Status.SKIPPED).exists():
        return True
    events = conversation_selectors.event_list(session_id=session_id, since=delivery.cursor - 1, limit=SCAN_BATCH)
    run_id = events[0].run_id if events else None
    return any(event.run_id == run_id and _ends_run(event) for event in events[1:])


def _ends_run(event) -> bool:
    return event.event_type == "run.failed" or (event.event_type == "message.created" and event.role == "character")


def _typing_finish(delivery: TelegramDelivery) -> None:
    """Close a typing row whose turn is over: delivered if it was shown at least once, else skipped."""
    shown = delivery.attempts > 0 and delivery.last_status_code is None
    TelegramDelivery.objects.filter(pk=delivery.pk).update(
        status=TelegramDelivery.Status.DELIVERED if shown else TelegramDelivery.Status.SKIPPED
    )


def _typing_send(delivery: TelegramDelivery, token: str, chat_id: int) -> SendOutcome:
    """Show "typing…" once more and keep the row pending until the turn is over (best effort: a failure
    ends it, since a late typing indicator is worth no retry)."""
    try:
        bot_api.call(token, "sendChatAction", {"chat_id": chat_id, "action": "typing"})
    except BotApiError as error:
        _fail(delivery, error, attempts=delivery.attempts + 1)
        return SendOutcome(False)
    now = clock.now()
    TelegramDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts + 1,
        delivered_at=delivery.delivered_at or now,
        next_attempt_at=now + timedelta(seconds=TYPING_REPEAT_SECONDS),
    )
    return SendOutcome(True, retry_in=TYPING_REPEAT_SECONDS)


def _photo_send(delivery: TelegramDelivery, token: str, chat_id: int) -> int | None:
    """``sendPhoto`` as multipart: the stored picture's bytes and the caption. An image with no file (it was
    deleted) is a permanent refusal of this row."""
    try:
        data, content_type = assets_selectors.image_bytes(image_id=delivery.image_id)
    except ApplicationError:
        raise BotApiError("sendPhoto", "The image has no file to send.", error_code=400) from None
    extension = {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type, "png")
    params = {"chat_id": chat_id}
    if delivery.texts and delivery.texts[0]:
        params["caption"] = delivery.texts[0]
    files = {"photo": (f"{delivery.image_id}.{extension}", data, content_type)}
    message = bot_api.call(token, "sendPhoto", params, files=files)
    return message.get("message_id") if isinstance(message, dict) else None


def _send(delivery: TelegramDelivery, token: str, chat_id: int) -> SendOutcome:
    """Send what is left of one message row; record each accepted bubble at once."""
    attempts = delivery.attempts + 1
    try:
        message_ids = list(delivery.message_ids)
        photo = delivery.kind == TelegramDelivery.Kind.PHOTO
        if photo and not delivery.parts_sent:
            message_ids.append(_photo_send(delivery, token, chat_id))
            TelegramDelivery.objects.filter(pk=delivery.pk).update(parts_sent=1, message_ids=message_ids)
        for index in range(delivery.parts_sent, 0 if photo else len(delivery.texts)):
            message = bot_api.call(token, "sendMessage", {"chat_id": chat_id, "text": delivery.texts[index]})
            message_ids.append(message.get("message_id") if isinstance(message, dict) else None)
            TelegramDelivery.objects.filter(pk=delivery.pk).update(parts_sent=index + 1, message_ids=message_ids)
    except BotApiError as error:
        if not error.transient or attempts >= settings.TELEGRAM_MAX_ATTEMPTS:
            _fail(delivery, error, attempts=attempts)
            return SendOutcome(False)
        wait = error.retry_after if error.retry_after is not None else _backoff(attempts)
        TelegramDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts,
            next_attempt_at=clock.now() + timedelta(seconds=wait),
            last_status_code=error.error_code,
            last_error=error.description[:500],
        )
        return SendOutcome(False, retry_in=wait)
    TelegramDelivery.objects.filter(pk=delivery.pk).update(
        status=TelegramDelivery.Status.DELIVERED, attempts=attempts, delivered_at=clock.now(), last_error=""
    )
    return SendOutcome(True)


def _drain_once(chat: TelegramChat) -> float | None:
    """Send the chat's due rows in order; return the wait before the next row is due, if one is waiting."""
    token = chat.channel.bot_token
    while True:
        telegram_chat_scan(chat_id=chat.pk)
        pending = TelegramDelivery.objects.filter(chat=chat, status=TelegramDelivery.Status.PENDING)
        delivery = pending.order_by("cursor").first()
        if delivery is None:
            return None
        typing = delivery.kind == TelegramDelivery.Kind.TYPING
        if typing and _typing_over(delivery, chat.session_id):
            _typing_finish(delivery)  # never holds back the reply, even between two typing actions
            continue
        wait = (delivery.next_attempt_at - clock.now()).total_seconds()
        if wait > 0:
            return wait
        outcome = _typing_send(delivery, token, chat.chat_id) if typing else _send(delivery, token, chat.chat_id)
        if outcome.retry_in is not None:
            return outcome.retry_in


def _has_work(chat_id: int) -> bool:
    due = TelegramDelivery.objects.filter(
        chat_id=chat_id, status=TelegramDelivery.Status.PENDING, next_attempt_at__lte=clock.now()
    )
    unscanned = TelegramChat.objects.filter(pk=chat_id, session__last_cursor__gt=F("scanned_cursor"))
    return due.exists() or unscanned.exists()


def telegram_chat_drain(*, chat_id: int) -> float | None:
    """Deliver everything due for one chat; safe to call any number of times from any number of workers.

    Returns the seconds until the chat's next row is due (after a 429 or a transient error), else None.
    When another sender holds the chat's lease this returns at once: that sender re-checks for new work
    after releasing the lease, so nothing committed meanwhile is left behind.
    """
    while True:
        if not _lease_take(chat_id):
            return None
        try:
            chat = TelegramChat.objects.select_related("channel").filter(pk=chat_id).first()
            if chat is None or chat.channel.status == TelegramChannel.Status.UNAUTHORIZED:
                return None
            retry_in = _drain_once(chat)
        finally:
            _lease_release(chat_id)
        if retry_in is not None or not _has_work(chat_id):
            return retry_in


def telegram_deliveries_resend(*, delivery_ids: list[int]) -> list[int]:
    """Send failed message and photo rows again, for an operator who fixed the cause; returns the ids re-queued.

    The row goes back to pending, due now, and its chat's drain is kicked after commit: the same sender, in the
    chat's order, from the first bubble Telegram has not taken yet (``parts_sent``), so no bubble goes out twice.
    Typing rows (a late "typing…" means nothing), rows of a channel whose token Telegram refuses, and rows not
    failed are left alone. ``attempts`` keeps counting: a row that used up its attempts gets one more.
    """
    resendable = (TelegramDelivery.Kind.MESSAGE, TelegramDelivery.Kind.PHOTO)
    with transaction.atomic():
        rows = list(
            TelegramDelivery.objects.select_for_update(of=("self",))
            .filter(id__in=delivery_ids, status=TelegramDelivery.Status.FAILED, kind__in=resendable)
            .exclude(channel__status=TelegramChannel.Status.UNAUTHORIZED)
            .order_by("id")
            .values_list("id", "chat_id")
        )
        if not rows:
            return []
        ids = [row_id for row_id, _ in rows]
        TelegramDelivery.objects.filter(id__in=ids).update(
            status=TelegramDelivery.Status.PENDING, next_attempt_at=clock.now(), last_error=""
        )
        chat_ids = sorted({chat_id for _, chat_id in rows})
        transaction.on_commit(
            lambda: executor.submit_many(DRAIN_TASK, [(chat_id,) for chat_id in chat_ids]), robust=True
        )
    return ids


def chats_for_sessions(*, session_ids: list[str]) -> list[int]:
    """The bound chats of these sessions (what the sink kicks)."""
    return selectors.chats_for_sessions(session_ids=session_ids)


def telegram_chats_due(*, limit: int = 500) -> list[int]:
    """Chats the sweep should drain: a pending row is due, or the session has events not yet scanned.

    Chats whose lease is held are left to their sender.
    """
    now = clock.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    due = set(
        TelegramDelivery.objects.filter(status=TelegramDelivery.Status.PENDING, next_attempt_at__lte=now)
        .values_list("chat_id", flat=True)
        .distinct()[:limit]
    )
    unscanned = TelegramChat.objects.filter(session__last_cursor__gt=F("scanned_cursor")).values_list("pk", flat=True)[
        :limit
    ]
    candidates = due | set(unscanned)
    if not candidates:
        return []
    return list(TelegramChat.objects.filter(free, pk__in=candidates).values_list("pk", flat=True))


def telegram_updates_purge(*, older_than: timedelta = timedelta(days=2)) -> int:
    """Forget inbound update ids older than Telegram's redelivery window; return how many."""
    deleted, _ = TelegramUpdate.objects.filter(received_at__lt=clock.now() - older_than).delete()
    return deleted
