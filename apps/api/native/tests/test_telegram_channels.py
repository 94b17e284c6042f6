"""Telegram delivery channels on /v1: connect, list, detail, verify, delete — against a fake Bot API."""

import pytest
from django.db import connection

from apps.api.native.tests.contract import assert_error
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Session
from apps.core.secrets import secret_decrypt
from apps.delivery.models import TelegramChannel

pytestmark = pytest.mark.usefixtures("fake_telegram")


@pytest.fixture
def app(owner):
    character_publish(owner.api_key.app, slug="luna", greeting="hey, I'm Luna")
    return owner.api_key.app


def _connect(api, app_id, token, **body):
    return api.post(
        f"/v1/apps/{app_id}/delivery-channels/telegram",
        {"bot_token": token, "default_character_id": "luna", **body},
        format="json",
    )


def _raw_column(channel_id: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {TelegramChannel._meta.db_table} WHERE id = %s", [channel_id])
        return cursor.fetchone()[0]


def test_connect_checks_the_token_registers_the_webhook_and_stores_the_token_encrypted(api, app, fake_telegram):
    token = fake_telegram.bot_create(username="luna_bot", first_name="Luna")
    response = _connect(api, app.id, token)

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    channel_id = data["channel_id"]
    assert channel_id.startswith("dch_")
    bot_id = int(token.split(":")[0])
    assert {k: data[k] for k in ("kind", "bot_id", "bot_username", "bot_name", "routing_mode")} == {
        "kind": "telegram",
        "bot_id": bot_id,
        "bot_username": "luna_bot",
        "bot_name": "Luna",
        "routing_mode": "single_character",
    }
    assert (data["default_character_id"], data["status"], data["webhook_status"]) == ("luna", "active", "registered")
    assert data["token_hint"] == f"{bot_id}:…{token[-4:]}"
    secret_part = token.split(":")[1]
    assert token not in response.content.decode() and secret_part not in response.content.decode()

    # getMe, then setWebhook to our inbound URL with a fresh secret token and only message updates
    assert [call.method for call in fake_telegram.calls] == ["getMe", "setWebhook"]
    url, secret = fake_telegram.webhook_of(token)
    assert url == f"http://testserver/hooks/telegram/{channel_id}"
    assert secret and len(secret) >= 32 and secret not in response.content.decode()
    assert fake_telegram.bot(token).allowed_updates == ["message"]

    # at rest: ciphertext only; the model reads the plaintext back
    raw_token, raw_secret = _raw_column(channel_id, "bot_token"), _raw_column(channel_id, "webhook_secret")
    assert secret_part not in raw_token and secret not in raw_secret
    assert secret_decrypt(raw_token) == token and secret_decrypt(raw_secret) == secret
    channel = TelegramChannel.objects.get(pk=channel_id)
    assert (channel.app_id, channel.bot_token, channel.default_character.slug) == (app.id, token, "luna")
    assert response.json()["next_actions"][0]["command"] == "https://t.me/luna_bot"


def test_list_and_detail_never_show_the_token(api, app, fake_telegram):
    token = fake_telegram.bot_create()
    channel_id = _connect(api, app.id, token).json()["data"]["channel_id"]

    listed = api.get(f"/v1/apps/{app.id}/delivery-channels/telegram")
    detail = api.get(f"/v1/delivery-channels/{channel_id}")

    assert listed.status_code == detail.status_code == 200
    assert [c["channel_id"] for c in listed.json()["data"]["channels"]] == [channel_id]
    assert detail.json()["data"]["channel_id"] == channel_id
    secret = fake_telegram.webhook_of(token)[1]
    for response in (listed, detail):
        text = response.content.decode()
        assert token.split(":")[1] not in text and secret not in text
        assert "bot_token" not in response.json()["data"] and "webhook_secret" not in text


def test_connecting_the_same_bot_again_updates_the_channel(api, app, fake_telegram):
    token = fake_telegram.bot_create()
    first = _connect(api, app.id, token).json()["data"]
    old_secret = fake_telegram.webhook_of(token)[1]
    character_publish(app, slug="mira", greeting="")

    again = _connect(api, app.id, token, default_character_id="mira")

    assert again.status_code == 200
    assert again.json()["data"]["channel_id"] == first["channel_id"]
    assert again.json()["data"]["default_character_id"] == "mira"
    assert TelegramChannel.objects.count() == 1
    assert fake_telegram.webhook_of(token)[1] != old_secret
    assert TelegramChannel.objects.get().webhook_secret == fake_telegram.webhook_of(token)[1]


def test_a_token_telegram_refuses_is_422_and_nothing_is_written(api, app, fake_telegram, nothing_written):
    unknown = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"
    with nothing_written():
        response = _connect(api, app.id, unknown)
    detail = assert_error(response, 422, "telegram_token_invalid")
    assert unknown not in response.content.decode() and "AAHdqTcv" not in str(detail)
    assert [call.method for call in fake_telegram.calls] == ["getMe"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"bot_token": "not-a-token"}, ["bot_token"]),
        ({"bot_token": ""}, ["bot_token"]),
        ({"bot_token": 12345}, ["bot_token"]),
        ({"routing_mode": "developer_user_link"}, ["routing_mode"]),
        ({"default_character_id": None}, ["default_character_id"]),
    ],
)
def test_invalid_bodies_are_422_naming_the_field_and_telegram_is_not_called(
    api, app, fake_telegram, nothing_written, body, fields
):
    token = fake_telegram.bot_create()
    with nothing_written():
        response = api.post(
            f"/v1/apps/{app.id}/delivery-channels/telegram",
            {"bot_token": token, "default_character_id": "luna", **body},
            format="json",
        )
    assert_error(response, 422, "validation_error", fields=fields)
    assert fake_telegram.calls == []


def test_an_unknown_or_unpublished_character_is_refused_like_a_session_start(
    api, owner, other, fake_telegram, nothing_written
):
    from apps.characters.models import Character

    character_publish(other.api_key.app, slug="beta-luna")
    Character.objects.create(app=owner.api_key.app, slug="draft-only", display_name="Draft")
    app_id = owner.api_key.app.id
    with nothing_written():
        unknown = _connect(api, app_id, fake_telegram.bot_create(), default_character_id="nobody")
        foreign = _connect(api, app_id, fake_telegram.bot_create(), default_character_id="beta-luna")
        draft = _connect(api, app_id, fake_telegram.bot_create(), default_character_id="draft-only")
    assert_error(unknown, 404, "character_not_found")
    assert_error(foreign, 404, "character_not_found")
    assert_error(draft, 409, "character_not_published")
    assert fake_telegram.calls == []


def test_telegram_refusing_the_webhook_is_422_and_nothing_is_written(api, app, fake_telegram, nothing_written):
    fake_telegram.fail("setWebhook", error_code=400, description="Bad Request: bad webhook: HTTPS url must be provided")
    with nothing_written():
        response = _connect(api, app.id, fake_telegram.bot_create())
    detail = assert_error(response, 422, "telegram_webhook_rejected")
    assert "HTTPS" in detail["message"]


@pytest.mark.parametrize("error_code", [500, 429])
def test_telegram_failing_is_503_and_nothing_is_written(api, app, fake_telegram, nothing_written, error_code):
    fake_telegram.fail("getMe", error_code=error_code)
    with nothing_written():
        response = _connect(api, app.id, fake_telegram.bot_create())
    assert_error(response, 503, "telegram_unavailable")


def test_telegram_unreachable_is_503(api, app, settings, nothing_written):
    settings.TELEGRAM_API_BASE_URL = "http://127.0.0.1:9"
    with nothing_written():
        response = _connect(api, app.id, "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX")
    assert_error(response, 503, "telegram_unavailable")


def test_without_public_base_url_connecting_is_503_and_the_webhook_is_untouched(
    api, app, fake_telegram, settings, nothing_written
):
    settings.PUBLIC_BASE_URL = ""
    token = fake_telegram.bot_create()
    with nothing_written():
        response = _connect(api, app.id, token)
    assert_error(response, 503, "public_base_url_unset")
    assert fake_telegram.webhook_of(token)[0] == ""


def test_another_apps_id_in_the_path_is_404(api, app, other, fake_telegram, nothing_written):
    token = fake_telegram.bot_create()
    with nothing_written():
        response = _connect(api, other.api_key.app.id, token)
    assert_error(response, 404, "app_not_found")
    assert_error(api.get(f"/v1/apps/{other.api_key.app.id}/delivery-channels/telegram"), 404, "app_not_found")
    assert fake_telegram.calls == []


def test_a_bot_connected_by_another_app_is_409(api, app, other_api, other, fake_telegram, nothing_written):
    character_publish(other.api_key.app, slug="beta-luna")
    token = fake_telegram.bot_create()
    assert _connect(api, app.id, token).status_code == 201
    webhook_before = fake_telegram.webhook_of(token)
    with nothing_written():
        response = _connect(other_api, other.api_key.app.id, token, default_character_id="beta-luna")
    assert_error(response, 409, "telegram_bot_already_connected")
    assert fake_telegram.webhook_of(token) == webhook_before  # the owner's webhook was not taken over


def test_sandbox_keys_cannot_connect_bots(fake_telegram, db, nothing_written):
    from rest_framework.test import APIClient

    from apps.accounts import services as accounts_services

    sandbox = accounts_services.app_create(name="sandbox", is_sandbox=True)
    issued = accounts_services.api_key_create(app=sandbox)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    with nothing_written():
        response = _connect(client, sandbox.id, fake_telegram.bot_create())
    assert_error(response, 403, "demo_key_surface_disabled")


def test_endpoints_need_a_key(anon, app, nothing_written):
    with nothing_written():
        assert_error(_connect(anon, app.id, "1:x"), 401, "missing_api_key")
    assert_error(anon.get("/v1/delivery-channels/dch_x"), 401, "missing_api_key")


# --- verify ------------------------------------------------------------------------------------------
@pytest.fixture
def connected(api, app, fake_telegram):
    token = fake_telegram.bot_create()
    channel_id = _connect(api, app.id, token).json()["data"]["channel_id"]
    return channel_id, token


def test_verify_reports_a_healthy_channel(api, connected, fake_telegram):
    channel_id, token = connected
    fake_telegram.bot(token).pending_update_count = 3
    response = api.post(f"/v1/delivery-channels/{channel_id}/verify")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["status"], data["webhook_status"], data["repaired"]) == ("active", "registered", False)
    assert data["pending_update_count"] == 3 and data["verified_at"]
    assert data["webhook_url"] == f"http://testserver/hooks/telegram/{channel_id}"
    assert [c.method for c in fake_telegram.calls][-2:] == ["getMe", "getWebhookInfo"]


def test_verify_registers_a_missing_webhook_again_with_a_new_secret(api, connected, fake_telegram):
    channel_id, token = connected
    old_secret = fake_telegram.webhook_of(token)[1]
    fake_telegram.bot(token).webhook_url = "https://elsewhere.example/hook"
    data = api.post(f"/v1/delivery-channels/{channel_id}/verify").json()["data"]
    assert (data["status"], data["webhook_status"], data["repaired"]) == ("active", "registered", True)
    url, secret = fake_telegram.webhook_of(token)
    assert url.endswith(f"/hooks/telegram/{channel_id}") and secret != old_secret
    assert TelegramChannel.objects.get(pk=channel_id).webhook_secret == secret


def test_verify_reports_telegrams_delivery_errors(api, connected, fake_telegram):
    channel_id, token = connected
    fake_telegram.bot(token).last_error_message = "Connection timed out"
    data = api.post(f"/v1/delivery-channels/{channel_id}/verify").json()["data"]
    assert (data["status"], data["webhook_status"], data["last_error"]) == (
        "degraded",
        "failing",
        "Connection timed out",
    )


def test_verify_reports_a_revoked_token(api, connected, fake_telegram):
    channel_id, token = connected
    fake_telegram.bot_revoke(token)
    response = api.post(f"/v1/delivery-channels/{channel_id}/verify")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "unauthorized"
    assert TelegramChannel.objects.get(pk=channel_id).status == "unauthorized"


def test_verify_with_telegram_down_is_503_and_changes_nothing(api, connected, fake_telegram):
    channel_id, _ = connected
    before = TelegramChannel.objects.filter(pk=channel_id).values().get()
    fake_telegram.fail("getMe", error_code=502)
    assert_error(api.post(f"/v1/delivery-channels/{channel_id}/verify"), 503, "telegram_unavailable")
    assert TelegramChannel.objects.filter(pk=channel_id).values().get() == before


# --- delete ------------------------------------------------------------------------------------------
def test_delete_removes_the_webhook_and_the_channel(api, connected, fake_telegram):
    channel_id, token = connected
    response = api.delete(f"/v1/delivery-channels/{channel_id}")
    assert response.status_code == 200
    assert response.json()["data"] == {"channel_id": channel_id, "deleted": True, "webhook_removed": True}
    assert fake_telegram.calls[-1].method == "deleteWebhook" and fake_telegram.webhook_of(token) == ("", None)
    assert not TelegramChannel.objects.filter(pk=channel_id).exists()
    assert_error(api.get(f"/v1/delivery-channels/{channel_id}"), 404, "delivery_channel_not_found")


def test_delete_with_a_revoked_token_still_disconnects(api, connected, fake_telegram):
    channel_id, token = connected
    fake_telegram.bot_revoke(token)
    response = api.delete(f"/v1/delivery-channels/{channel_id}")
    assert response.json()["data"]["webhook_removed"] is False
    assert not TelegramChannel.objects.filter(pk=channel_id).exists()


def test_another_apps_channel_looks_absent(connected, other_api, fake_telegram, nothing_written):
    channel_id, token = connected
    with nothing_written():
        for response in (
            other_api.get(f"/v1/delivery-channels/{channel_id}"),
            other_api.post(f"/v1/delivery-channels/{channel_id}/verify"),
            other_api.delete(f"/v1/delivery-channels/{channel_id}"),
        ):
            assert_error(response, 404, "delivery_channel_not_found")
    assert [c.method for c in fake_telegram.calls] == ["getMe", "setWebhook"]  # only the owner's connect


# --- the session trace -------------------------------------------------------------------------------
def test_the_trace_shows_each_events_telegram_delivery(
    api, app, fake_telegram, settings, django_capture_on_commit_callbacks
):
    from django.test import Client

    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.TelegramSink"]
    token = fake_telegram.bot_create()
    channel_id = _connect(api, app.id, token).json()["data"]["channel_id"]
    url, secret = fake_telegram.webhook_of(token)
    fake_telegram.fail("sendChatAction", error_code=400)
    update = fake_telegram.update(user_id=99, text="hello")
    with django_capture_on_commit_callbacks(execute=True):  # the turn and the sends run inline
        response = Client().post(
            url.removeprefix("http://testserver"),
            update,
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
        )
    assert response.status_code == 200
    session_id = Session.objects.get(external_user_ref="telegram:99").id

    events = api.get(f"/v1/sessions/{session_id}/trace").json()["data"]["events"]

    telegram = {
        item["event"]["event_type"] + "/" + str(item["event"]["role"]): [
            (d["channel_id"], d["status"], d["attempts"], d["last_status_code"])
            for d in item["deliveries"]
            if d["kind"] == "telegram"
        ]
        for item in events
    }
    assert telegram == {
        "emotion.updated/character": [],  # not sent to Telegram
        "message.created/character": [(channel_id, "delivered", 1, None)],
        "run.status/None": [(channel_id, "failed", 1, 400)],
        "message.created/user": [],
        "character.initiated/character": [(channel_id, "delivered", 1, None)],
    }
