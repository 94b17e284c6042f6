"""Delivery rows: writing them with the events, sending them, retrying them, giving up on endpoints.

At-least-once, end to end:
- rows for a native event are written in the transaction that appends the event (``webhook_deliveries_record``,
  called by ``sinks.WebhookSink.record``), so a committed event always has its rows;
- after commit the rows are handed to a sender at once (the fast path); if that hand-off is lost (the
  process died, the broker was down), the rows are already due and the periodic sweep sends them;
- a sender claims a row with a lease; if it dies mid-request the lease runs out and the row is sent again,
  with the same ``webhook-id`` (a re-delivery the receiver deduplicates, never a loss).
"""

import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce

from apps.conversations import selectors as conversation_selectors
from apps.conversations import services as conversation_services
from apps.core import clock, executor, metrics
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.webhooks import selectors
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.delivery.webhooks.network import url_parse
from apps.delivery.webhooks.sender import Attempt, Outcome, post_many
from apps.delivery.webhooks.signing import signature_headers

logger = logging.getLogger(__name__)

ENDPOINT_DISABLED_EVENT = "webhook.endpoint_disabled"
# Named, not imported: the tasks module imports these services.
SEND_TASK = "apps.delivery.tasks.webhook_deliveries_send_task"


# --- writing rows -------------------------------------------------------------------------------------
def webhook_deliveries_record(
    events: list[dict], *, session_endpoints: list[WebhookEndpoint] | None = None
) -> list[int]:
    """Write one pending row per (event, active endpoint that takes it); hand them to a sender after commit.

    ``events`` are public event dicts of one append (or of one batch of appends to many sessions, grouped by
    session); must run inside the appending transaction. ``session_endpoints``: the one session's endpoints, when
    the caller has read them already.
    """
    if not events:
        return []
    now = clock.now()
    rows: list[WebhookDelivery] = []
    batches = [
        (session_id, list(batch)) for session_id, batch in groupby(events, key=lambda event: event["session_id"])
    ]
    if len(batches) == 1:
        if session_endpoints is None:
            session_endpoints = selectors.endpoints_for_session_events(session_id=batches[0][0])
        endpoints = {batches[0][0]: session_endpoints}
    else:  # a batch of sessions (the proactive scan's): one lookup for all, not one per session
        endpoints = selectors.endpoints_for_sessions_events(session_ids=list({key for key, _ in batches}))
    for session_id, batch in batches:
        for endpoint in endpoints[session_id]:
            rows += [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event["event_id"],
                    event_type=event["event_type"],
                    body={"event": event},
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in batch
                if endpoint.accepts(event["event_type"])
            ]
    if not rows:
        return []
    ids = [row.id for row in WebhookDelivery.objects.bulk_create(rows)]
    transaction.on_commit(lambda: executor.submit(SEND_TASK, ids), robust=True)
    return ids


def webhook_event_enqueue(
    *,
    app_id: str,
    event_id: str,
    payload: dict,
    event_type: str = "",
    session_id: str | None = None,
    scope: str | None = None,
    endpoint_ids: list[str] | None = None,
) -> list[int]:
    """Queue ``payload`` (the whole JSON body to POST) for endpoints of ``app_id``; returns the row ids.

    Target either explicit ``endpoint_ids``, or a native ``session_id`` (its endpoints and the app-level
    ones), or a producer ``scope`` (endpoints registered with that scope). ``event_id`` is the receiver's
    deduplication key (``webhook-id``); enqueueing the same id twice for an endpoint is a no-op. Joins the
    caller's transaction if there is one; sending starts after commit.
    """
    if "." in event_id or not event_id:
        raise ValueError("event_id must be non-empty and contain no '.' (Standard Webhooks ids)")
    if scope and endpoint_ids is None and session_id is None:
        # The cached routes first: a scope without an endpoint that takes this event costs no statement.
        routes = selectors.scope_push_routes(app_id=app_id, scope=scope)
        endpoint_ids = [endpoint_id for endpoint_id, types in routes if not types or event_type in types]
        if not endpoint_ids:
            return []
    endpoints = WebhookEndpoint.objects.filter(app_id=app_id, status=WebhookEndpoint.Status.ACTIVE)
    if endpoint_ids is not None:
        endpoints = endpoints.filter(id__in=endpoint_ids)
    elif session_id is not None:
        endpoints = endpoints.filter(Q(session_id=session_id) | Q(session__isnull=True, scope=""))
    elif scope:
        endpoints = endpoints.filter(scope=scope)
    else:
        endpoints = endpoints.filter(session__isnull=True, scope="")
    now = clock.now()
    with transaction.atomic():
        targets = [endpoint for endpoint in endpoints if endpoint.accepts(event_type)]
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=event_type,
                    body=payload,
                    next_attempt_at=now,
                    created_at=now,
                )
                for endpoint in targets
            ],
            ignore_conflicts=True,
        )
        ids = list(
            WebhookDelivery.objects.filter(
                endpoint__in=targets, event_id=event_id, status=WebhookDelivery.Status.PENDING, attempts=0
            ).values_list("id", flat=True)
        )
        if ids:
            transaction.on_commit(lambda: executor.submit(SEND_TASK, ids), robust=True)
    return ids


# --- sending ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Claim:
    delivery: WebhookDelivery
    attempt: int  # the fencing token: the row's ``attempts`` after this claim


def _claim(delivery_ids: list[int]) -> list[_Claim]:
    """Take the due rows among ``delivery_ids`` for one attempt each; rows of stopped endpoints are cancelled."""
    now = clock.now()
    lease_until = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(id__in=delivery_ids, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        )
        live = [row for row in rows if row.endpoint.status == WebhookEndpoint.Status.ACTIVE]
        stopped = [row.id for row in rows if row.endpoint.status != WebhookEndpoint.Status.ACTIVE]
        if stopped:
            WebhookDelivery.objects.filter(id__in=stopped).update(
                status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None, last_error="endpoint_not_active"
            )
        if live:
            WebhookDelivery.objects.filter(id__in=[row.id for row in live]).update(
                attempts=F("attempts") + 1, next_attempt_at=lease_until, last_attempt_at=now
            )
    return [_Claim(row, row.attempts + 1) for row in live]


def _attempt(claim: _Claim, timestamp: int) -> Attempt:
    row = claim.delivery
    content = row.body
    if row.event_type == "image.ready" and isinstance(content.get("event"), dict):
        # The stored event's links may have expired by this retry: send ones minted now.
        content = {**content, "event": conversation_selectors.event_links_fresh(content["event"])}
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    headers = signature_headers(secret=row.endpoint.secret, message_id=row.event_id, timestamp=timestamp, body=body)
    headers["x-dramatis-delivery-attempt"] = str(claim.attempt)
    return Attempt(url=row.endpoint.url, host=url_parse(row.endpoint.url).host, headers=headers, body=body)


def retry_delay(*, attempts_made: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failures, or None when the schedule is spent.

    The published schedule with +-``WEBHOOK_RETRY_JITTER`` jitter; a ``Retry-After`` longer than that
    step is waited for instead (capped at a day).
    """
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if attempts_made > len(schedule):
        return None
    jitter = settings.WEBHOOK_RETRY_JITTER
    delay = schedule[attempts_made - 1] * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - not crypto
    if retry_after is not None:
        delay = max(delay, min(retry_after, 86400.0))
    return delay


def webhook_deliveries_send(*, delivery_ids: list[int]) -> int:
    """Claim the due rows among ``delivery_ids``, POST them concurrently and record each outcome.

    Returns how many were attempted. Safe to call twice for the same ids (the claim lets one win).
    """
    claims = _claim(delivery_ids)
    if not claims:
        return 0
    timestamp = int(clock.now().timestamp())
    outcomes = post_many([_attempt(claim, timestamp) for claim in claims])
    _outcomes_record(list(zip(claims, outcomes, strict=True)))
    return len(claims)


def _fence(pairs: list[tuple[_Claim, Outcome]]) -> Q:
    condition = Q(pk__in=[])
    for claim, _ in pairs:
        condition |= Q(pk=claim.delivery.pk, attempts=claim.attempt)
    return condition & Q(status=WebhookDelivery.Status.PENDING)


def _outcomes_record(results: list[tuple[_Claim, Outcome]]) -> None:
    now = clock.now()
    succeeded = [pair for pair in results if pair[1].succeeded]
    by_code = groupby(sorted(succeeded, key=lambda pair: pair[1].status_code), key=lambda pair: pair[1].status_code)
    for status_code, pairs in by_code:
        WebhookDelivery.objects.filter(_fence(list(pairs))).update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=now,
            last_status_code=status_code,
            last_error="",
            next_attempt_at=None,
        )
    for claim, _ in succeeded:
        metrics.webhook_delivered(created_at=claim.delivery.created_at)
    if succeeded:
        WebhookEndpoint.objects.filter(
            id__in={claim.delivery.endpoint_id for claim, _ in succeeded}, consecutive_failures__gt=0
        ).update(consecutive_failures=0, failing_since=None, last_success_at=now)
    for claim, outcome in results:
        if not outcome.succeeded:
            _failure_record(claim, outcome, now)


def _failure_record(claim: _Claim, outcome: Outcome, now) -> None:
    endpoint = claim.delivery.endpoint
    gone = outcome.status_code == 410
    delay = None if gone or outcome.abort else retry_delay(attempts_made=claim.attempt, retry_after=outcome.retry_after)
    fields = {"last_status_code": outcome.status_code, "last_error": outcome.error[:500]}
    if delay is None:
        fields |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        fields |= {"next_attempt_at": now + timedelta(seconds=delay)}
    with transaction.atomic():
        WebhookDelivery.objects.filter(_fence([(claim, outcome)])).update(**fields)
        WebhookEndpoint.objects.filter(id=endpoint.id).update(
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce(F("failing_since"), Value(now, output_field=DateTimeField())),
        )
    if gone:
        endpoint_disable(endpoint_id=endpoint.id, reason="gone", detail="The endpoint answered 410 Gone.")
        return
    threshold = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    if WebhookEndpoint.objects.filter(
        id=endpoint.id,
        status=WebhookEndpoint.Status.ACTIVE,
        consecutive_failures__gte=settings.WEBHOOK_DISABLE_AFTER_FAILURES,
        failing_since__lte=threshold,
    ).exists():
        endpoint_disable(
            endpoint_id=endpoint.id,
            reason="failing",
            detail="Every attempt failed for too long; fix the receiver and register the URL again.",
        )


def endpoint_disable(*, endpoint_id: str, reason: str, detail: str) -> bool:
    """Disable an active endpoint once (the conditional UPDATE lets one caller win), cancel its pending rows
    and, for a session endpoint, append ``webhook.endpoint_disabled`` to that session's log."""
    now = clock.now()
    with transaction.atomic():
        won = WebhookEndpoint.objects.filter(id=endpoint_id, status=WebhookEndpoint.Status.ACTIVE).update(
            status=WebhookEndpoint.Status.DISABLED, disabled_reason=reason, disabled_at=now
        )
        if not won:
            return False
        PUSH_ROUTES.bump()
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None, last_error=f"endpoint_disabled: {reason}"
        )
        endpoint = WebhookEndpoint.objects.get(id=endpoint_id)
        logger.warning("Webhook endpoint %s (%s) disabled: %s", endpoint_id, endpoint.url, reason)
        if endpoint.session_id:
            payload = {
                "channel_id": endpoint.id,
                "kind": "webhook",
                "url": endpoint.url,
                "reason": reason,
                "detail": detail,
                "consecutive_failures": endpoint.consecutive_failures,
                "last_success_at": endpoint.last_success_at.isoformat() if endpoint.last_success_at else None,
            }
            conversation_services.events_append(
                session_id=endpoint.session_id,
                events=[conversation_services.NewEvent(ENDPOINT_DISABLED_EVENT, payload)],
            )
    return True


def webhook_deliveries_resend(*, delivery_ids: list[int]) -> list[int]:
    """Send failed or cancelled rows again, for an operator who fixed the receiver; returns the ids re-queued.

    Only rows whose endpoint is active qualify (a disabled endpoint is enabled first; a deleted one is gone for
    good); delivered and pending rows are left as they are. Each row goes back to pending, due now, and is handed
    to the same send task as a fresh row, so it is signed the same way with the same ``webhook-id`` (the receiver
    deduplicates). ``attempts`` keeps counting (the attempt header stays truthful), so a row whose schedule was
    spent gets one more attempt and is failed again if that fails too.
    """
    retryable = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.CANCELLED)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(of=("self",))
            .filter(id__in=delivery_ids, status__in=retryable, endpoint__status=WebhookEndpoint.Status.ACTIVE)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(id__in=ids).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=clock.now(), last_error=""
        )
        transaction.on_commit(lambda: executor.submit(SEND_TASK, ids), robust=True)
    return ids


def webhook_deliveries_sweep(*, limit: int = 1000) -> list[int]:
    """Hand every due row (retries, and rows whose fast-path hand-off was lost) to senders; returns their ids."""
    ids = selectors.webhook_deliveries_due(limit=limit)
    batch = settings.WEBHOOK_SEND_BATCH
    executor.submit_many(SEND_TASK, [(ids[start : start + batch],) for start in range(0, len(ids), batch)])
    return ids
