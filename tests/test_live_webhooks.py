"""A worker killed (SIGKILL) mid-delivery: every event still reaches the receiver, signed; nothing is lost.

Real processes (daphne + Celery workers in production mode, the ``serve`` process in embedded mode), real
HTTP to a receiver on 127.0.0.1 that verifies both signatures. The receiver answers slowly, so the kill
lands while deliveries are in flight; the deliveries that worker had claimed come due again when their
lease runs out and the next worker (with beat's sweep) sends them. A re-delivery is allowed and carries
the same event id; a missing event is not.
"""

import time
from collections import Counter

import pytest

from apps.accounts import services as accounts_services
from apps.conversations.models import Event
from apps.conversations.tests.factories import session_start
from apps.delivery.models import WebhookDelivery
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.live import PRODUCTION, live_stack_factory  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SECRET = "live-signing-secret-0123456789"
MESSAGES = 6


def test_a_worker_killed_mid_delivery_loses_no_event(live_stack_factory):  # noqa: F811
    env = {
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WEBHOOK_LEASE_SECONDS": "3",
        "WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.5",
        "WEBHOOK_TIMEOUT_SECONDS": "10",
        # Turns the kill interrupts are taken over quickly too (the replies are events to deliver).
        "RUN_LEASE_SECONDS": "3",
        "RUNS_RECOVER_INTERVAL_SECONDS": "0.5",
    }
    with WebhookReceiver(secret=SECRET) as receiver:
        receiver.default.delay = 1.5  # every answer takes a while: deliveries are in flight when the worker dies
        stack = live_stack_factory(env=env, workers=1)
        first_worker = stack.processes[0]  # the Celery worker, or the serve process in embedded mode
        app = accounts_services.app_create(name="webhook worker death")
        key = accounts_services.api_key_create(app=app, name="live").raw_key
        session = session_start(app)
        client = stack.client(key)
        registered = client.post(f"/v1/sessions/{session.id}/channels", {"url": receiver.url, "secret": SECRET})
        assert registered.status == 201, registered.body

        for index in range(MESSAGES):
            sent = client.post(f"/v1/sessions/{session.id}/messages", {"text": f"message {index}"})
            assert sent.status == 202, sent.body

        def in_flight() -> bool:
            """A delivery the receiver has (and is slowly answering) while its row is still claimed."""
            claimed = WebhookDelivery.objects.filter(status="pending", attempts__gte=1)
            return claimed.filter(event_id__in=receiver.event_ids()).exists()

        stack.wait_for(in_flight, what="deliveries in flight at the receiver")
        first_worker.kill()
        first_worker.popen.wait(timeout=10)
        killed_at = time.time()
        receiver.default.delay = 0.0
        if PRODUCTION:
            stack.start_worker("worker2", beat=True)  # with beat's sweep
        else:
            stack.await_http(stack.spawn_web())

        def all_delivered() -> bool:
            return (
                not WebhookDelivery.objects.exclude(status="delivered").exists()
                and Event.objects.filter(session=session, event_type="message.created", role="character").count()
                == MESSAGES
            )

        stack.wait_for(all_delivered, timeout=60, what="every delivery to succeed after the kill")

    events = {event.as_public_dict()["event_id"]: event for event in Event.objects.filter(session=session)}
    assert len(events) == 4 * MESSAGES  # each message, its run.status, its reply and the emotion.updated after it
    arrivals = Counter(receiver.event_ids())
    assert set(arrivals) == set(events)  # every event arrived, and nothing that is not an event
    assert all(item.legacy_signature_ok and item.standard_signature_ok for item in receiver.received)
    # Re-deliveries are the same event (same id, same body); they happen only for what was in flight.
    for item in receiver.received:
        assert item.json == {"event": events[item.event_id].as_public_dict()}
    resent = {event_id for event_id, count in arrivals.items() if count > 1}
    assert resent, "the kill should have interrupted at least one delivery"
    assert all(
        any(item.arrived_at < killed_at for item in receiver.received if item.event_id == event_id)
        for event_id in resent
    )
    rows = WebhookDelivery.objects.all()
    assert rows.count() == len(events) and {row.status for row in rows} == {"delivered"}
