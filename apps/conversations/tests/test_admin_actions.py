"""The run list's retry action: a retriable failed run gets a new run (answered once); others are left alone."""

import pytest
from django.urls import reverse

from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start


@pytest.fixture(autouse=True)
def _one_attempt(settings):
    settings.RUN_MAX_ATTEMPTS = 1
    settings.EMOTION_APPRAISER = "lexicon"


def _retry(admin_client, runs, capture):
    with capture(execute=True):
        response = admin_client.post(
            reverse("admin:conversations_run_changelist"),
            {"action": "retry_failed", "_selected_action": [run.pk for run in runs]},
            follow=True,
        )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_a_failed_run_is_retried_and_answered(admin_client, owner, fake_llm, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("fail")
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="hello?")
    fake_llm.set_mode("instant")
    failed = Run.objects.get(pk=sent.run_ref)

    messages = _retry(admin_client, [failed], django_capture_on_commit_callbacks)

    new_run = Run.objects.exclude(pk=failed.pk).get(session=session)
    assert messages == [f"Retried 1 run(s): {failed.pk} → {new_run.pk}."]
    assert new_run.status == "succeeded"
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1


def test_a_succeeded_run_is_not_retried(admin_client, owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="hello?")
    events = Event.objects.count()

    messages = _retry(admin_client, [Run.objects.get(pk=sent.run_ref)], django_capture_on_commit_callbacks)

    assert messages == [
        "1 run(s) not retried: only a session's latest turn that failed with llm_unavailable or run_abandoned can be."
    ]
    assert (Run.objects.count(), Event.objects.count()) == (1, events)
