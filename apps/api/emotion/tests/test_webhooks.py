"""/emotion/v1/webhook/{sessionId}: registration, listing, and signed deliveries of the three event types."""

import pytest

from apps.api.emotion.tests.conftest import assert_error
from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.delivery.models import WebhookDelivery, WebhookEndpoint

SECRET = "molroo-test-secret-0123456789"
HOSTILE = {**APPRAISAL, "goal_relevance": 1, "goal_congruence": -1, "norm_compatibility": -1, "controllability": 0}


def _register(api, persona, **body):
    payload = {"url": "https://127.0.0.1:8443/molroo", "secret": SECRET, "events": ["stage_transition"], **body}
    return api.post(f"/emotion/v1/webhook/{persona}", payload, format="json")


def test_register_and_list(api, persona, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = _register(api, persona, events=["stage_transition", "proactive_action", "stage_transition"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at"}
    assert body["url"] == "https://127.0.0.1:8443/molroo"
    assert body["events"] == ["proactive_action", "stage_transition"]
    assert SECRET not in response.content.decode()
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.scope == f"persona:{persona}" and endpoint.session_id is None
    listed = api.get(f"/emotion/v1/webhook/{persona}").json()
    assert listed == [body]


@pytest.mark.parametrize(
    ("body", "field", "networks"),
    [
        ({"url": ""}, "url", ["127.0.0.0/8"]),
        ({"url": "ftp://127.0.0.1/x"}, "url", ["127.0.0.0/8"]),
        ({"events": []}, "events", ["127.0.0.0/8"]),
        ({"events": ["turn_result"]}, "events[0]", ["127.0.0.0/8"]),
        ({"secret": "short"}, "secret", ["127.0.0.0/8"]),
        ({"secret": "whsec_not-base64!"}, "secret", ["127.0.0.0/8"]),
        ({}, "url", []),  # the SSRF guard: loopback is refused unless the operator allows it
    ],
)
def test_validation(api, persona, nothing_written, settings, body, field, networks):
    settings.WEBHOOK_ALLOWED_NETWORKS = networks
    before = WebhookEndpoint.objects.count()
    with nothing_written():
        response = _register(api, persona, **body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert any(name.startswith(field) for name in error["details"]["fields"]), error
    assert WebhookEndpoint.objects.count() == before


def test_events_are_delivered_signed(api, persona, webhook_receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    secret = webhook_receiver.secret
    response = _register(api, persona, url=webhook_receiver.url, secret=secret,
                         events=["stage_transition", "emotional_overflow"])  # fmt: skip
    assert response.status_code == 201, response.content
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            api.post("/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": HOSTILE}, format="json")
    rows = WebhookDelivery.objects.all()
    assert {row.event_type for row in rows} == {"stage_transition", "emotional_overflow"}
    assert all(row.body["session_id"] == persona and row.body["event"] == row.event_type for row in rows)
    assert sorted(webhook_receiver.event_ids()) == sorted(row.event_id for row in rows)  # sent after each commit
    assert all(row.status == WebhookDelivery.Status.DELIVERED for row in WebhookDelivery.objects.all())
    for item in webhook_receiver.received:
        assert item.legacy_signature_ok and item.standard_signature_ok
        assert item.json["id"] == item.headers["webhook-id"]


def test_deleting_the_session_stops_its_webhooks(api, persona, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    hook = _register(api, persona).json()
    api.delete(f"/emotion/v1/persona/{persona}")
    assert WebhookEndpoint.objects.get(pk=hook["id"]).status == WebhookEndpoint.Status.DELETED
    assert_error(api.get(f"/emotion/v1/webhook/{persona}"), 404, "NOT_FOUND")


def test_another_apps_session(other_api, persona, nothing_written):
    with nothing_written():
        assert_error(_register(other_api, persona), 404, "NOT_FOUND")
        assert_error(other_api.get(f"/emotion/v1/webhook/{persona}"), 404, "NOT_FOUND")


def test_a_webhook_registered_after_turns_gets_the_next_events(api, persona, settings):
    """The scope's routes are cached by the turns before it; registering must make every process miss."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    for _ in range(20):
        api.post("/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": HOSTILE}, format="json")
    assert not WebhookDelivery.objects.exists()
    hook = _register(api, persona, events=["stage_transition", "emotional_overflow"]).json()
    for _ in range(5):
        api.post("/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": HOSTILE}, format="json")
    assert WebhookDelivery.objects.exists()
    assert {row.endpoint_id for row in WebhookDelivery.objects.all()} == {hook["id"]}
