"""Stream tokens: POST /v1/sessions/{id}/stream-token, and who may open GET /v1/sessions/{id}/events/stream.

The stream runs for SSE_MAX_SECONDS; these tests shorten it so that a response that opened can be read to
its end with Django's test client (the live tests read it over real HTTP).
"""

import warnings
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils.dateparse import parse_datetime

from apps.accounts import services as accounts_services
from apps.accounts.selectors import STREAM_TOKEN_SALT
from apps.api.native.tests.contract import assert_error
from apps.conversations.tests.factories import session_start
from apps.core import clock


@pytest.fixture(autouse=True)
def _short_streams(settings):
    settings.SSE_MAX_SECONDS = 0.3
    settings.SSE_HEARTBEAT_SECONDS = 0.1


def _mint(api, session_id: str):
    return api.post(f"/v1/sessions/{session_id}/stream-token")


def _stream(client, session_id: str, query: str = "", **headers):
    response = client.get(f"/v1/sessions/{session_id}/events/stream{query}", **headers)
    if response.streaming:
        with warnings.catch_warnings():  # the sync test client consumes the async stream whole, and says so
            warnings.simplefilter("ignore")
            response.body = b"".join(response).decode()
    return response


def test_a_minted_token_opens_only_its_sessions_stream(api, owner, settings):
    session = session_start(owner.api_key.app, greeting="Hi, I'm Luna.")
    before = clock.now()
    response = _mint(api, session.id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["schema_version"] and body["next_actions"]
    data = body["data"]
    expires_at = parse_datetime(data["expires_at"])
    ttl = timedelta(seconds=settings.STREAM_TOKEN_TTL_SECONDS)
    assert before + ttl - timedelta(seconds=1) <= expires_at <= clock.now() + ttl
    url = urlsplit(data["stream_url"])
    assert url.path == f"/v1/sessions/{session.id}/events/stream"
    assert parse_qs(url.query) == {"token": [data["token"]]}
    assert owner.raw_key not in data["stream_url"]

    # the token, without any key, opens the stream and it carries the session's log
    stream = _stream(Client(), session.id, f"?token={data['token']}")
    assert stream.status_code == 200 and stream["Content-Type"].startswith("text/event-stream")
    assert "id: 1\n" in stream.body and "Hi, I'm Luna." in stream.body

    # but not another session's stream, even of the same app
    sibling = session_start(owner.api_key.app, slug="nova", greeting="Nova here.")
    refused = _stream(Client(), sibling.id, f"?token={data['token']}")
    assert_error(refused, 401, "invalid_stream_token")


def test_a_token_is_not_a_key_on_rest_endpoints(api, anon, owner):
    session = session_start(owner.api_key.app, greeting="hi")
    token = _mint(api, session.id).json()["data"]["token"]
    assert_error(anon.get(f"/v1/sessions/{session.id}/events?token={token}"), 401, "missing_api_key")
    assert_error(anon.get(f"/v1/sessions/{session.id}?token={token}"), 401, "missing_api_key")
    assert_error(anon.post(f"/v1/sessions/{session.id}/stream-token?token={token}"), 401, "missing_api_key")


def test_an_api_key_in_the_url_is_refused(owner):
    session = session_start(owner.api_key.app, greeting="hi")
    response = _stream(Client(), session.id, f"?token={owner.raw_key}")
    detail = assert_error(response, 401, "invalid_stream_token")
    assert "Authorization: Bearer" in detail["fix"]


def test_expired_forged_and_foreign_kind_tokens_are_401(api, owner, settings):
    session = session_start(owner.api_key.app, greeting="hi")
    token = _mint(api, session.id).json()["data"]["token"]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    persona_kind = signing.dumps(
        {"app": owner.api_key.app.id, "session": session.id, "kind": "persona"}, salt=STREAM_TOKEN_SALT
    )
    other_salt = signing.dumps({"app": owner.api_key.app.id, "session": session.id, "kind": "session"})
    assert_error(_stream(Client(), session.id, f"?token={forged}"), 401, "invalid_stream_token")
    assert_error(_stream(Client(), session.id, f"?token={persona_kind}"), 401, "invalid_stream_token")
    assert_error(_stream(Client(), session.id, f"?token={other_salt}"), 401, "invalid_stream_token")
    settings.STREAM_TOKEN_TTL_SECONDS = -1  # every token minted so far is now past its lifetime
    assert_error(_stream(Client(), session.id, f"?token={token}"), 401, "stream_token_expired")


def test_minting_for_another_apps_session_is_404_and_writes_nothing(api, other, nothing_written):
    foreign = session_start(other.api_key.app, greeting="hi")
    with nothing_written():
        response = _mint(api, foreign.id)
    assert_error(response, 404, "session_not_found")
    assert_error(_mint(api, "sess_doesnotexist"), 404, "session_not_found")


def test_minting_needs_a_key(anon, owner, nothing_written):
    session = session_start(owner.api_key.app, greeting="hi")
    with nothing_written():
        response = _mint(anon, session.id)
    assert_error(response, 401, "missing_api_key")
    assert_error(_stream(Client(), session.id), 401, "missing_api_key")


def test_a_signed_in_superuser_opens_their_playground_apps_streams(client, django_user_model, owner):
    admin = django_user_model.objects.create_superuser(username="root", password="x")
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    playground = accounts_services.playground_app_ensure(user=admin)
    session = session_start(playground, greeting="Playground hello.")
    foreign = session_start(owner.api_key.app, slug="nova", greeting="not yours")

    client.force_login(admin)
    opened = _stream(client, session.id)
    assert opened.status_code == 200 and "Playground hello." in opened.body
    # the superuser acts as their playground app: other apps' sessions look absent
    assert_error(_stream(client, foreign.id), 404, "session_not_found")

    # staff who are not superusers and bound to no app are refused
    staff_client = Client()
    staff_client.force_login(staff)
    assert_error(_stream(staff_client, session.id), 401, "missing_api_key")


def test_a_staff_user_bound_to_an_app_opens_its_streams_and_the_browsable_api_as_it(client, django_user_model, owner):
    app = owner.api_key.app
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    accounts_services.app_staff_bind(user=staff, app=app)
    session = session_start(app, greeting="Hello, staff.")
    other = accounts_services.app_create(name="other app")
    foreign = session_start(other, slug="nova", greeting="not yours")

    client.force_login(staff)
    opened = _stream(client, session.id)
    assert opened.status_code == 200 and "Hello, staff." in opened.body
    assert_error(_stream(client, foreign.id), 404, "session_not_found")
    # the browsable API acts as the same app (StaffPlaygroundAuthentication)
    listed = client.get(f"/v1/sessions/{session.id}", HTTP_ACCEPT="application/json")
    assert listed.status_code == 200 and listed.json()["data"]["session_id"] == session.id
    assert client.get(f"/v1/sessions/{foreign.id}", HTTP_ACCEPT="application/json").status_code == 404

    accounts_services.app_staff_unbind(user=staff)
    unbound = Client()
    unbound.force_login(staff)
    assert_error(_stream(unbound, session.id), 401, "missing_api_key")
