"""Sending: real HTTP to a receiver on 127.0.0.1 that verifies both signatures with ``standardwebhooks``."""

import json
import time

import pytest
from django.db import transaction

from apps.conversations import services as conversation_services
from apps.conversations.models import Event
from apps.core import executor
from apps.delivery import services
from apps.delivery import tasks as delivery_tasks
from apps.delivery.models import WebhookDelivery, WebhookEndpoint
from apps.delivery.sinks import TELEGRAM_DRAIN_TASK
from apps.delivery.telegram import tasks as telegram_tasks
from apps.delivery.webhooks import selectors as webhook_selectors
from apps.delivery.webhooks import services as webhook_services
from apps.delivery.webhooks.services.deliveries import ENDPOINT_DISABLED_EVENT, SEND_TASK, retry_delay
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db
_commit = None


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """Each append "commits": its after-commit callbacks (the hand-off to the sender) run at once."""
    global _commit
    _commit = django_capture_on_commit_callbacks
    yield
    _commit = None


def _append(session_id: str, *types: str) -> list[dict]:
    with _commit(execute=True), transaction.atomic():
        rows = conversation_services.events_append(
            session_id=session_id,
            events=[
                conversation_services.NewEvent(event_type, {"text": f"t{i}"}) for i, event_type in enumerate(types)
            ],
        )
    return [row.as_public_dict() for row in rows]


def _drive(until, *, timeout: float = 10.0) -> None:
    """Play beat: run the sweep until ``until()`` holds (a deadline only bounds a broken run)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out"
        services.webhook_deliveries_sweep()
        time.sleep(0.05)


def _endpoint(app, receiver, **kwargs) -> WebhookEndpoint:
    return services.webhook_endpoint_create(app=app, url=receiver.url, secret=receiver.secret, **kwargs)


def test_each_event_arrives_once_with_both_signatures_verified(webhooks_on, owner, session, webhook_receiver):
    app = owner.api_key.app
    _endpoint(app, webhook_receiver, session_id=session.id)
    events = _append(session.id, "message.created", "run.status")

    assert sorted(webhook_receiver.event_ids()) == sorted(event["event_id"] for event in events)
    received = sorted(webhook_receiver.received, key=lambda item: item.json["event"]["cursor"])
    for item, event in zip(received, events, strict=True):
        assert item.legacy_signature_ok and item.standard_signature_ok
        assert item.json == {"event": event}  # exactly the events endpoint's shape
        assert item.headers["webhook-id"] == event["event_id"]
        assert abs(int(item.headers["webhook-timestamp"]) - time.time()) < 60
    rows = WebhookDelivery.objects.order_by("id")
    assert [(row.status, row.attempts, row.last_status_code) for row in rows] == [("delivered", 1, 200)] * 2


def test_whsec_secret_verifies_with_webhook_secret_unchanged(webhooks_on, owner, session):
    endpoint_secret = services.webhook_endpoint_create(
        app=owner.api_key.app, url="http://127.0.0.1:9/x", session_id=session.id
    ).secret  # generated
    assert endpoint_secret.startswith("whsec_")
    WebhookEndpoint.objects.all().delete()
    with WebhookReceiver(secret=endpoint_secret) as receiver:
        _endpoint(owner.api_key.app, receiver, session_id=session.id)
        _append(session.id, "message.created")
        (item,) = receiver.received
        assert item.standard_signature_ok and item.legacy_signature_ok


def test_app_level_endpoint_receives_every_sessions_events_and_filters_types(
    webhooks_on, owner, other, session, webhook_receiver
):
    from apps.conversations.tests.factories import session_start

    app = owner.api_key.app
    second = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="u2")
    foreign = session_start(other.api_key.app, slug="nova")
    _endpoint(app, webhook_receiver, event_types=["message.created"])

    mine = _append(session.id, "message.created", "run.status") + _append(second.id, "message.created")
    _append(foreign.id, "message.created")

    wanted = [event["event_id"] for event in mine if event["event_type"] == "message.created"]
    assert sorted(webhook_receiver.event_ids()) == sorted(wanted)


def test_no_endpoint_no_rows_and_deleted_endpoint_stops(webhooks_on, owner, session, webhook_receiver):
    app = owner.api_key.app
    _append(session.id, "message.created")
    assert not WebhookDelivery.objects.exists()
    endpoint = _endpoint(app, webhook_receiver, session_id=session.id)
    services.webhook_endpoint_delete(app=app, endpoint_id=endpoint.id, session_id=session.id)
    _append(session.id, "message.created")
    assert webhook_receiver.received == [] and not WebhookDelivery.objects.exists()


def test_rows_commit_with_the_event_and_roll_back_with_it(webhooks_on, owner, session, webhook_receiver, monkeypatch):
    """The rows are written in the append's transaction: a rollback leaves neither, a lost hand-off is swept."""
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    with pytest.raises(RuntimeError), transaction.atomic():
        conversation_services.events_append(session_id=session.id, events=[conversation_services.NewEvent("x.y")])
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError
    assert not WebhookDelivery.objects.exists() and not Event.objects.filter(event_type="x.y").exists()

    # A process that dies right after commit never hands the rows over; the sweep still sends them.
    monkeypatch.setattr(executor, "submit", lambda task, *args, countdown=0.0: None)  # the hand-off is lost
    (event,) = _append(session.id, "message.created")
    monkeypatch.undo()
    assert webhook_receiver.received == []
    _drive(lambda: webhook_receiver.received)
    assert webhook_receiver.event_ids() == [event["event_id"]]


def test_failures_retry_on_the_schedule_then_succeed(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.respond(500).respond(503)
    (event,) = _append(session.id, "message.created")
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)

    _drive(lambda: len(webhook_receiver.received) == 3)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 3, 200)
    times = [item.arrived_at for item in webhook_receiver.received]
    assert all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:], strict=False))  # per schedule
    assert {item.headers["webhook-id"] for item in webhook_receiver.received} == {event["event_id"]}
    assert [item.headers["x-dramatis-delivery-attempt"] for item in webhook_receiver.received] == ["1", "2", "3"]
    assert all(item.standard_signature_ok and item.legacy_signature_ok for item in webhook_receiver.received)
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_schedule_is_spent_then_the_row_fails(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.default.status = 500
    _append(session.id, "message.created")
    _drive(lambda: WebhookDelivery.objects.get().status == "failed")
    assert len(webhook_receiver.received) == 4  # the first attempt and the three retries of the schedule
    assert WebhookDelivery.objects.get().attempts == 4


def test_retry_after_is_honoured(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.respond(429, headers={"Retry-After": "2"})
    _append(session.id, "message.created")
    row = WebhookDelivery.objects.get()
    assert 1.8 <= (row.next_attempt_at - row.last_attempt_at).total_seconds() <= 2.2
    _drive(lambda: len(webhook_receiver.received) == 2)
    first, second = webhook_receiver.received
    assert second.arrived_at - first.arrived_at >= 2.0


def test_redirects_are_failures_and_not_followed(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.respond(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    _append(session.id, "message.created")
    row = WebhookDelivery.objects.get()
    assert (row.status, row.last_status_code, row.last_error) == ("pending", 302, "http_302")
    assert len(webhook_receiver.received) == 1  # the redirect was not followed


def test_a_slow_receiver_times_out(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.respond(200, delay=2.0)  # longer than WEBHOOK_TIMEOUT_SECONDS (1 s here)
    started = time.monotonic()
    _append(session.id, "message.created")
    assert time.monotonic() - started < 1.9
    row = WebhookDelivery.objects.get()
    assert row.status == "pending" and row.last_status_code is None and row.last_error.startswith("timeout")


def test_410_disables_the_endpoint_and_tells_the_session(webhooks_on, owner, session, webhook_receiver):
    app = owner.api_key.app
    endpoint = _endpoint(app, webhook_receiver, session_id=session.id)
    other_receiver = WebhookReceiver(secret="another-secret-0123456789").start()
    try:
        _endpoint(app, other_receiver, session_id=session.id)
        webhook_receiver.respond(410)
        _append(session.id, "message.created")
        endpoint.refresh_from_db()
        assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "gone")
        assert WebhookDelivery.objects.get(endpoint=endpoint).status == "failed"
        notice = Event.objects.get(session=session, event_type=ENDPOINT_DISABLED_EVENT)
        assert notice.payload["channel_id"] == endpoint.id and notice.payload["reason"] == "gone"
        # The other channel hears about it; the disabled one gets nothing more.
        assert sorted(item.json["event"]["event_type"] for item in other_receiver.received) == [
            "message.created",
            ENDPOINT_DISABLED_EVENT,
        ]
        _append(session.id, "message.created")
        assert len(webhook_receiver.received) == 1
    finally:
        other_receiver.stop()


def test_a_long_run_of_failures_disables_the_endpoint(webhooks_on, owner, session, webhook_receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0.5
    endpoint = _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.default.status = 503
    _append(session.id, "message.created", "run.status")
    _drive(lambda: WebhookEndpoint.objects.get().status == "disabled")
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "failing" and endpoint.consecutive_failures >= 3
    assert not WebhookDelivery.objects.filter(status="pending").exists()
    assert Event.objects.filter(session=session, event_type=ENDPOINT_DISABLED_EVENT).count() == 1


def test_abort_header_stops_retries_for_that_message(webhooks_on, owner, session, webhook_receiver):
    _endpoint(owner.api_key.app, webhook_receiver, session_id=session.id)
    webhook_receiver.respond(400, headers={"webhook-delivery": "abort-message"})
    _append(session.id, "message.created")
    assert WebhookDelivery.objects.get().status == "failed"


def test_send_time_guard_refuses_a_host_that_now_resolves_inside(
    webhooks_on, owner, session, webhook_receiver, settings
):
    """Saved while allowed, refused at send once loopback is no longer allowed (the check runs on every send)."""
    services.webhook_endpoint_create(
        app=owner.api_key.app,
        url=f"http://localhost:{webhook_receiver.port}/hook",
        secret=webhook_receiver.secret,
        session_id=session.id,
    )
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    _append(session.id, "message.created")
    row = WebhookDelivery.objects.get()
    assert webhook_receiver.received == []
    assert row.status == "pending" and "address_forbidden" in row.last_error


def test_retry_delay_follows_the_published_schedule_with_jitter(settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [5, 300, 1800]
    settings.WEBHOOK_RETRY_JITTER = 0.1
    for attempts_made, step in [(1, 5), (2, 300), (3, 1800)]:
        delays = [retry_delay(attempts_made=attempts_made, retry_after=None) for _ in range(50)]
        assert all(step * 0.9 <= delay <= step * 1.1 for delay in delays)
        assert len(set(delays)) > 1
    assert retry_delay(attempts_made=4, retry_after=None) is None
    assert retry_delay(attempts_made=1, retry_after=60) == 60
    assert 270 <= retry_delay(attempts_made=2, retry_after=1) <= 330


def test_enqueue_for_a_producer_scope_and_the_trace_selector(webhooks_on, owner, other, webhook_receiver):
    app = owner.api_key.app
    endpoint = _endpoint(app, webhook_receiver, scope="persona:p1")
    body = {"type": "proactive_action", "data": {"x": 1}}
    with _commit(execute=True):
        ids = services.webhook_event_enqueue(app_id=app.id, scope="persona:p1", event_id="emo_1", payload=body)
    assert len(ids) == 1
    with _commit(execute=True):
        again = services.webhook_event_enqueue(app_id=app.id, scope="persona:p1", event_id="emo_1", payload=body)
    assert again == []
    assert [json.loads(item.body) for item in webhook_receiver.received] == [body]
    trace = webhook_selectors.webhook_deliveries_for_events(app_id=app.id, event_ids=["emo_1", "nope"])
    assert list(trace) == ["emo_1"]
    assert trace["emo_1"][0] | {"delivered_at": None} == {
        "channel_id": endpoint.id,
        "kind": "webhook",
        "status": "delivered",
        "attempts": 1,
        "last_status_code": 200,
        "delivered_at": None,
    }
    assert webhook_selectors.webhook_deliveries_for_events(app_id=other.api_key.app.id, event_ids=["emo_1"]) == {}


def test_sends_and_drains_are_submitted_by_the_names_of_their_tasks():
    assert executor._task_named(SEND_TASK) is delivery_tasks.webhook_deliveries_send_task._get_current_object()
    assert executor._task_named(TELEGRAM_DRAIN_TASK) is telegram_tasks.telegram_chat_drain_task._get_current_object()


def test_deleting_a_scope_stops_its_endpoints_and_cancels_their_pending_rows_only(
    webhooks_on, owner, other, webhook_receiver
):
    app, other_app = owner.api_key.app, other.api_key.app
    gone = _endpoint(app, webhook_receiver, scope="persona:p1")
    kept_scope = _endpoint(app, webhook_receiver, scope="persona:p2")
    other_apps = _endpoint(other_app, webhook_receiver, scope="persona:p1")
    body = {"type": "stage_transition", "data": {}}
    for target, scope in ((app, "persona:p1"), (app, "persona:p2"), (other_app, "persona:p1")):
        with _commit(execute=False):  # recorded, not sent: the rows stay pending
            services.webhook_event_enqueue(app_id=target.id, scope=scope, event_id=f"emo_{scope}", payload=body)

    assert webhook_services.scope_webhook_endpoints_delete(app_id=app.id, scope="persona:p1") == 1
    assert webhook_services.scope_webhook_endpoints_delete(app_id=app.id, scope="persona:p1") == 0

    statuses = dict(WebhookEndpoint.objects.values_list("pk", "status"))
    assert statuses == {
        gone.id: WebhookEndpoint.Status.DELETED,
        kept_scope.id: WebhookEndpoint.Status.ACTIVE,
        other_apps.id: WebhookEndpoint.Status.ACTIVE,
    }
    rows = dict(WebhookDelivery.objects.values_list("endpoint_id", "status"))
    assert rows == {
        gone.id: WebhookDelivery.Status.CANCELLED,
        kept_scope.id: WebhookDelivery.Status.PENDING,
        other_apps.id: WebhookDelivery.Status.PENDING,
    }
