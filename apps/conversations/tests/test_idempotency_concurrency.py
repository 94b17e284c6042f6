"""The same Idempotency-Key sent many times at once: one message, one turn, the same answer for all."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.conversations import services
from apps.conversations.models import Event, IdempotencyRecord, Run
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_concurrency import own_connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_simultaneous_retries_with_one_key_create_one_message(owner):
    # given a session and twenty copies of one request released together (a client retrying hard)
    app = owner.api_key.app
    session = session_start(app)
    copies = 20
    start = threading.Barrier(copies)

    @own_connection
    def send(_):
        start.wait()
        return services.message_send(app=app, session_id=session.id, text="only once", idempotency_key="retry-1")

    with ThreadPoolExecutor(max_workers=copies) as pool:
        results = list(pool.map(send, range(copies)))

    # then every copy got the first answer, and exactly one message, run and reply exist
    assert len(set(results)) == 1
    assert Event.objects.filter(session=session, event_type="message.created", role="user").count() == 1
    assert Run.objects.filter(session=session).count() == 1
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
    assert IdempotencyRecord.objects.filter(app=app, key="retry-1").count() == 1
