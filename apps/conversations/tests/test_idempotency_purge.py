"""Idempotency records are kept for the retention period, then forgotten."""

from datetime import timedelta

from apps.conversations import services
from apps.conversations.models import Event, IdempotencyRecord
from apps.conversations.tasks import idempotency_records_purge_task
from apps.conversations.tests.factories import session_start
from apps.core import clock


def test_records_past_retention_are_purged_and_the_key_is_new_again(owner, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    app = owner.api_key.app
    session = session_start(app)
    first = services.message_send(app=app, session_id=session.id, text="hi", idempotency_key="k-1")
    second = services.message_send(app=app, session_id=session.id, text="hi", idempotency_key="k-2")
    # k-1 was used 25 hours ago, k-2 an hour ago
    IdempotencyRecord.objects.filter(key="k-1").update(created_at=clock.now() - timedelta(hours=25))
    IdempotencyRecord.objects.filter(key="k-2").update(created_at=clock.now() - timedelta(hours=1))

    assert idempotency_records_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-2"]
    # the forgotten key now sends a new message; the kept one still replays
    again = services.message_send(app=app, session_id=session.id, text="hi", idempotency_key="k-1")
    replay = services.message_send(app=app, session_id=session.id, text="hi", idempotency_key="k-2")
    assert again.run_ref != first.run_ref
    assert Event.objects.filter(session=session, event_type="message.created", role="user").count() == 3
    assert replay == second
