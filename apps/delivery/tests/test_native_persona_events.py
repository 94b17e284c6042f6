"""Native turns announce their persona session's molroo events on the event bus, as /emotion/v1 turns do
(the decision is in ``apps.core.events``): sockets get ``turn_result``, persona webhooks the transitions."""

import pytest

from apps.conversations import services
from apps.conversations.models import Session
from apps.conversations.tests.factories import session_start
from apps.core.events import PERSONA_EVENTS
from apps.delivery.models import WebhookDelivery

pytestmark = pytest.mark.django_db


class PersonaRecorder:
    """Keeps the persona events recorded inside turns' transactions."""

    topics = (PERSONA_EVENTS,)
    recorded: list[dict] = []

    def record(self, events: list[dict]) -> None:
        PersonaRecorder.recorded.extend(events)


@pytest.fixture
def persona_recorded(settings) -> list[dict]:
    settings.EVENT_SINKS = [*settings.EVENT_SINKS, f"{__name__}.PersonaRecorder"]
    PersonaRecorder.recorded.clear()
    return PersonaRecorder.recorded


def test_a_native_turn_announces_turn_result_for_its_persona_session(
    owner, persona_recorded, announced, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="You're amazing, thank you!")
    persona_session_id = Session.objects.get(pk=session.pk).persona_session_id
    [turn] = [event for event in persona_recorded if event["type"] == "turn_result"]
    assert (turn["session_id"], turn["app_id"], turn["origin"]) == (
        persona_session_id,
        app.id,
        f"native:{sent.run_ref}",
    )
    # the session's own stream carries the emotion as its cursor event, never the molroo events
    assert "emotion.updated" in [event["event_type"] for event in announced]
    assert all("cursor" in event for event in announced)


def test_a_native_turn_s_transitions_reach_the_webhook_of_its_persona_session(
    owner, api, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    # given a native session whose persona session (created by its first turn) has a molroo webhook
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    app = owner.api_key.app
    session = session_start(app)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="hello there")
    persona_session_id = Session.objects.get(pk=session.pk).persona_session_id
    hook = {"url": webhook_receiver.url, "secret": webhook_receiver.secret, "events": ["stage_transition"]}
    assert api.post(f"/emotion/v1/webhook/{persona_session_id}", hook, format="json").status_code == 201
    # when the user insults the character in the native conversation
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="You are a stupid useless idiot")
    # then the persona webhook gets the stage transition, signed, as an /emotion/v1 turn would send it
    rows = WebhookDelivery.objects.all()
    assert [(row.event_type, row.status) for row in rows] == [("stage_transition", "delivered")]
    [received] = webhook_receiver.received
    assert received.json["event"] == "stage_transition" and received.json["session_id"] == persona_session_id
    assert received.standard_signature_ok
