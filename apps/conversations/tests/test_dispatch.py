"""Dispatching runs when the broker is unreachable: accepted messages are answered late, never lost."""

import pytest

from apps.conversations import dispatch, services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from config.celery_app import app as celery_app


@pytest.fixture
def unreachable_broker(settings):
    """Point Celery at a port where nothing listens (a real refused connection, not a stub)."""
    settings.RUN_EXECUTOR = "celery"
    previous = celery_app.conf.broker_url
    _reconnect(celery_app, "redis://127.0.0.1:9/0")
    yield
    _reconnect(celery_app, previous)


def _reconnect(app, broker_url: str) -> None:
    """Drop Celery's cached broker connections so the next publish dials ``broker_url``."""
    app.conf.broker_url = broker_url
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


def test_send_is_accepted_and_later_answered_when_the_broker_is_down(
    owner, unreachable_broker, settings, django_capture_on_commit_callbacks
):
    # given a session, and a broker that refuses connections
    app = owner.api_key.app
    session = session_start(app)
    # when a message is sent, the enqueue after commit fails but does not raise
    with django_capture_on_commit_callbacks(execute=True):
        result = services.message_send(app=app, session_id=session.id, text="are you there?")
    # then the message and its queued run are durable, with no reply yet
    run = Run.objects.get(pk=result.run_ref)
    assert run.status == Run.Status.QUEUED and run.attempts == 0
    assert not Event.objects.filter(session=session, role="character").exists()
    # and once the broker is back, the recovery sweep answers it exactly once
    settings.RUN_EXECUTOR = "inline"
    Run.objects.filter(pk=run.pk).update(available_at=run.available_at.replace(year=2000))
    assert dispatch.recover_and_dispatch() == [run.pk]
    assert dispatch.recover_and_dispatch() == []
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
