"""Bearer keys: the 401/403 ladder, tenant isolation (404, never 403), key storage, CLI and admin issuance."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as accounts_services
from apps.accounts.models import ApiKey, App
from apps.api.native.tests.contract import assert_error
from apps.characters.tests.factories import character_publish
from apps.conversations.tests.factories import session_start


def _client(raw_key: str | None = None, header: str | None = None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_valid_key_reaches_its_own_app(api, owner):
    character_publish(owner.api_key.app, slug="luna")
    response = api.get("/v1/characters")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()["data"]["characters"]] == ["luna"]


def test_missing_key_is_401_with_www_authenticate(anon, db):
    response = anon.get("/v1/characters")
    assert_error(response, 401, "missing_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Token abc",  # wrong scheme
        "Bearer",  # no key
        "Bearer drm_nothex_secret",  # unknown prefix
        "Bearer not-a-dramatis-key",  # malformed
        "Basic dXNlcjpwYXNz",
    ],
)
def test_malformed_or_unknown_key_is_403_invalid(db, header):
    assert_error(_client(header=header).get("/v1/characters"), 403, "invalid_api_key")


def test_right_prefix_wrong_secret_is_403_invalid(owner):
    prefix = owner.api_key.prefix
    response = _client(f"{prefix}_{'x' * 43}").get("/v1/characters")
    assert_error(response, 403, "invalid_api_key")


def test_revoked_key_is_403_revoked(owner):
    accounts_services.api_key_revoke(api_key=owner.api_key)
    assert_error(_client(owner.raw_key).get("/v1/characters"), 403, "api_key_revoked")


def test_expired_key_is_403_expired(owner):
    ApiKey.objects.filter(pk=owner.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(_client(owner.raw_key).get("/v1/characters"), 403, "api_key_expired")


def test_key_with_future_expiry_works(owner):
    ApiKey.objects.filter(pk=owner.api_key.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    assert _client(owner.raw_key).get("/v1/characters").status_code == 200


def test_bad_key_is_refused_before_any_write(owner, nothing_written):
    with nothing_written():
        response = _client(header="Bearer drm_000000000000_nope").post(
            "/v1/characters", {"slug": "luna", "display_name": "Luna"}, format="json"
        )
    assert_error(response, 403, "invalid_api_key")


def test_another_apps_character_is_404_never_403(owner, other_api):
    character_publish(owner.api_key.app, slug="luna")
    for path in ("/v1/characters/luna", "/v1/characters/luna/versions", "/v1/characters/luna/readiness"):
        assert_error(other_api.get(path), 404, "character_not_found")
    assert other_api.get("/v1/characters").json()["data"]["characters"] == []


def test_another_apps_session_is_404_never_403(owner, other_api, nothing_written):
    session = session_start(owner.api_key.app)
    base = f"/v1/sessions/{session.id}"
    for path in (base, f"{base}/events", f"{base}/runs"):
        assert_error(other_api.get(path), 404, "session_not_found")
    with nothing_written():
        response = other_api.post(f"{base}/messages", {"text": "hi"}, format="json")
    assert_error(response, 404, "session_not_found")
    assert other_api.get("/v1/sessions").json()["data"]["sessions"] == []


def test_starting_a_session_on_another_apps_character_is_404(owner, other_api, nothing_written):
    character_publish(owner.api_key.app, slug="luna")
    with nothing_written():
        response = other_api.post("/v1/sessions", {"character": "luna", "external_user_ref": "u1"}, format="json")
    assert_error(response, 404, "character_not_found")


def test_keys_are_stored_as_prefix_and_sha256_only(owner):
    key = ApiKey.objects.get(pk=owner.api_key.pk)
    scheme, prefix_part, secret = owner.raw_key.split("_")
    assert key.prefix == f"{scheme}_{prefix_part}"
    assert re.fullmatch(r"[0-9a-f]{64}", key.secret_hash)
    dump = io.StringIO()
    call_command("dumpdata", "accounts", stdout=dump)
    assert secret not in dump.getvalue() and owner.raw_key not in dump.getvalue()
    assert key.prefix in dump.getvalue()


def test_createapikey_prints_a_working_key(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("createapikey", "--app", "Acme", stdout=out, stderr=err)
    raw_key = out.getvalue().strip()
    app = App.objects.get(name="Acme")
    assert ApiKey.objects.get(app=app).prefix in raw_key
    response = _client(raw_key).post("/v1/characters", {"slug": "acme-luna", "display_name": "Luna"}, format="json")
    assert response.status_code == 201
    # a second run reuses the app and prints a different key for it
    again = io.StringIO()
    call_command("createapikey", "--app", "Acme", stdout=again, stderr=io.StringIO())
    assert again.getvalue().strip() != raw_key
    assert App.objects.filter(name="Acme").count() == 1 and app.api_keys.count() == 2


def test_admin_issue_key_action_shows_a_working_key_once(admin_client, owner):
    app = owner.api_key.app
    response = admin_client.post(
        reverse("admin:accounts_app_changelist"),
        {"action": "issue_key", "_selected_action": [app.pk]},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    raw_key = re.search(r"(drm_[0-9a-f]+_\S+)", " ".join(messages)).group(1)
    assert app.api_keys.count() == 2
    assert _client(raw_key).get("/v1/characters").status_code == 200
    # the key page shows the prefix, never the secret
    new_key = app.api_keys.exclude(pk=owner.api_key.pk).get()
    page = admin_client.get(reverse("admin:accounts_apikey_change", args=[quote(new_key.pk)]))
    assert new_key.prefix in page.content.decode() and raw_key.split("_")[2] not in page.content.decode()


def test_admin_revoke_action_revokes_the_key(admin_client, owner):
    response = admin_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", "_selected_action": [owner.api_key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=owner.api_key.pk).revoked_at is not None
    assert_error(_client(owner.raw_key).get("/v1/characters"), 403, "api_key_revoked")
