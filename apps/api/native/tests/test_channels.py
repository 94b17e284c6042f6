"""Webhook channels: POST/GET /v1/sessions/{id}/channels, DELETE .../channels/{channel_id}, /v1/webhook-endpoints."""

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from standardwebhooks import Webhook

from apps.api.native.tests.contract import assert_error
from apps.conversations.tests.factories import session_start
from apps.delivery.models import WebhookDelivery, WebhookEndpoint
from apps.delivery.webhooks.signing import signature_headers

SECRET = "integrator-secret-0123456789"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def session(owner):
    return session_start(owner.api_key.app, slug="luna")


def _register(api, session_id, **body):
    return api.post(f"/v1/sessions/{session_id}/channels", {"url": "http://127.0.0.1:8999/hook", **body}, format="json")


def test_register_list_and_delete_a_session_channel(api, session):
    response = _register(api, session.id, secret=SECRET)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["channel_id"].startswith("whk_")
    assert {key: data[key] for key in ("kind", "scope", "session_id", "url", "status", "event_types")} == {
        "kind": "webhook",
        "scope": "session",
        "session_id": session.id,
        "url": "http://127.0.0.1:8999/hook",
        "status": "active",
        "event_types": [],
    }
    assert "signing_secret" not in data and SECRET not in response.content.decode()
    endpoint = WebhookEndpoint.objects.get(pk=data["channel_id"])
    assert (endpoint.app_id, endpoint.session_id, endpoint.secret) == (session.app_id, session.id, SECRET)
    stored = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list(Cast("secret", TextField()), flat=True)
    assert SECRET not in stored[0]  # encrypted at rest

    listed = api.get(f"/v1/sessions/{session.id}/channels")
    assert listed.status_code == 200
    assert [channel["channel_id"] for channel in listed.json()["data"]["channels"]] == [data["channel_id"]]
    assert SECRET not in listed.content.decode()

    deleted = api.delete(f"/v1/sessions/{session.id}/channels/{data['channel_id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] == {"channel_id": data["channel_id"], "deleted": True}
    assert api.get(f"/v1/sessions/{session.id}/channels").json()["data"]["channels"] == []
    assert_error(
        api.delete(f"/v1/sessions/{session.id}/channels/{data['channel_id']}"), 404, "webhook_endpoint_not_found"
    )


def test_without_a_secret_one_is_generated_and_shown_once(api, session):
    data = _register(api, session.id, event_types=["message.created"]).json()["data"]
    secret = data["signing_secret"]
    assert secret.startswith("whsec_") and data["event_types"] == ["message.created"]
    # The generated secret works with the official verifier unchanged.
    body = b'{"event":{}}'
    Webhook(secret).verify(body, signature_headers(secret=secret, message_id="evt_1", timestamp=_now(), body=body))
    assert secret not in api.get(f"/v1/sessions/{session.id}/channels").content.decode()


def _now() -> int:
    import time

    return int(time.time())


def test_app_level_endpoints(api, session):
    created = api.post("/v1/webhook-endpoints", {"url": "http://127.0.0.1:8999/all", "secret": SECRET}, format="json")
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert (data["scope"], data["session_id"]) == ("app", None)
    _register(api, session.id, secret=SECRET)  # a session channel is not an app-level endpoint
    listed = api.get("/v1/webhook-endpoints").json()["data"]["channels"]
    assert [channel["channel_id"] for channel in listed] == [data["channel_id"]]
    assert api.get(f"/v1/webhook-endpoints/{data['channel_id']}").json()["data"]["url"] == "http://127.0.0.1:8999/all"
    assert api.delete(f"/v1/webhook-endpoints/{data['channel_id']}").status_code == 200
    assert_error(api.get(f"/v1/webhook-endpoints/{data['channel_id']}"), 404, "webhook_endpoint_not_found")
    # A session channel's id is not an app-level endpoint's.
    channel_id = api.get(f"/v1/sessions/{session.id}/channels").json()["data"]["channels"][0]["channel_id"]
    assert_error(api.get(f"/v1/webhook-endpoints/{channel_id}"), 404, "webhook_endpoint_not_found")


def test_another_apps_session_and_channel_look_absent(api, other_api, session, nothing_written):
    channel_id = _register(api, session.id, secret=SECRET).json()["data"]["channel_id"]
    with nothing_written():
        assert_error(_register(other_api, session.id, secret=SECRET), 404, "session_not_found")
        assert_error(other_api.get(f"/v1/sessions/{session.id}/channels"), 404, "session_not_found")
        assert_error(other_api.delete(f"/v1/sessions/{session.id}/channels/{channel_id}"), 404, "session_not_found")
        assert_error(other_api.delete(f"/v1/webhook-endpoints/{channel_id}"), 404, "webhook_endpoint_not_found")
    assert WebhookEndpoint.objects.get(pk=channel_id).status == "active"


def test_missing_key_is_401(anon, session, nothing_written):
    with nothing_written():
        assert_error(_register(anon, session.id, secret=SECRET), 401, "missing_api_key")
        response = anon.post("/v1/webhook-endpoints", {"url": "http://127.0.0.1:1/x"}, format="json")
        assert_error(response, 401, "missing_api_key")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_forbidden"),
        ("http://10.0.0.5/hook", "webhook_url_forbidden"),
        ("http://192.168.1.1/hook", "webhook_url_forbidden"),
        ("http://[::1]:8000/hook", "webhook_url_forbidden"),
        ("http://[fd00:ec2::254]/", "webhook_url_forbidden"),
        ("http://[::ffff:10.0.0.1]/", "webhook_url_forbidden"),
        ("http://224.0.0.1/", "webhook_url_forbidden"),
        ("http://0.0.0.0:80/", "webhook_url_forbidden"),
        ("http://100.64.0.1/", "webhook_url_forbidden"),
        ("ftp://127.0.0.1/hook", "validation_error"),
        ("not a url", "validation_error"),
        ("http://127.0.0.1:99999/", "webhook_url_invalid"),
        ("http://user:pass@127.0.0.1/hook", "webhook_url_invalid"),
        ("http:///nohost", "webhook_url_invalid"),
        ("http://no-such-host.invalid/hook", "webhook_url_unresolvable"),
    ],
)
def test_refused_urls_are_422_with_a_code_and_write_nothing(api, session, nothing_written, url, code):
    with nothing_written():
        detail = assert_error(_register(api, session.id, url=url, secret=SECRET), 422, code, fields=["url"])
        assert_error(api.post("/v1/webhook-endpoints", {"url": url}, format="json"), 422, code, fields=["url"])
    if code == "webhook_url_forbidden":
        assert "WEBHOOK_ALLOWED_NETWORKS" in detail["fix"]


def test_loopback_is_refused_unless_the_operator_allows_it(api, session, settings, nothing_written):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with nothing_written():
        assert_error(_register(api, session.id, secret=SECRET), 422, "webhook_url_forbidden", fields=["url"])
        response = _register(api, session.id, url="http://2130706433:8999/", secret=SECRET)  # 127.0.0.1 as an int
        assert_error(response, 422, "webhook_url_forbidden", fields=["url"])
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert _register(api, session.id, secret=SECRET).status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"secret": "short"}, "validation_error", "secret"),
        ({"secret": "has spaces in the secret value"}, "validation_error", "secret"),
        ({"secret": "whsec_dG9vc2hvcnQ="}, "webhook_secret_invalid", "secret"),
        ({"secret": "x" * 513}, "validation_error", "secret"),
        ({"secret": 12345678901234567}, "validation_error", "secret"),
        ({"url": ""}, "validation_error", "url"),
        ({"url": "http://127.0.0.1/" + "a" * 2048}, "validation_error", "url"),
        ({"event_types": "message.created"}, "validation_error", "event_types"),
    ],
)
def test_bad_bodies_are_422_naming_the_field_and_write_nothing(api, session, nothing_written, body, code, field):
    with nothing_written():
        assert_error(_register(api, session.id, **body), 422, code, fields=[field])


def test_deleting_cancels_pending_deliveries(api, session, owner):
    channel_id = _register(api, session.id, secret=SECRET).json()["data"]["channel_id"]
    from apps.core import clock

    row = WebhookDelivery.objects.create(
        endpoint_id=channel_id, event_id="evt_x_1", body={}, next_attempt_at=clock.now(), created_at=clock.now()
    )
    api.delete(f"/v1/sessions/{session.id}/channels/{channel_id}")
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at) == ("cancelled", None)
