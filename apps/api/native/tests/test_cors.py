"""CORS on the API surfaces (django-cors-headers), through the real ASGI application.

Requests without a cookie take the API handler (``settings.API_MIDDLEWARE``), those with one the site stack
(``settings.MIDDLEWARE``); both must answer preflights before authentication, so both are exercised here.
"""

import pytest

from apps.conversations.models import Session
from apps.conversations.tests.factories import session_start
from apps.core.tests.asgi_requests import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)
ALLOWED = "https://app.example.com"


@pytest.fixture(autouse=True)
def _cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    status, answered, content = asgi_request(method, path, raw, body)
    return status, {name.decode(): value.decode() for name, value in answered.items()}, content


def _preflight(path: str, origin: str, **extra: str):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        **extra,
    }
    return _request("OPTIONS", path, headers)


@pytest.mark.parametrize("cookie", ["", "csrftoken=x"], ids=["api stack", "site stack"])
@pytest.mark.parametrize("path", ["/v1/sessions", "/v1/sessions/sess_x/events/stream", "/emotion/v1/turn"])
def test_preflight_is_answered_without_a_key_for_allowed_origins_only(path, cookie):
    extra = {"Cookie": cookie} if cookie else {}
    status, headers, _ = _preflight(path, ALLOWED, **extra)
    assert status == 200
    assert headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = {h.strip() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "last-event-id"} <= allowed_headers
    assert "POST" in headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in headers

    status, headers, _ = _preflight(path, "https://evil.example.net", **extra)
    assert "access-control-allow-origin" not in headers


def test_cors_is_off_by_default_and_outside_the_api(settings):
    # CORS answers before anything that can refuse a request; only the observation middleware (which times and
    # logs, and refuses nothing) wraps it.
    for stack in (settings.MIDDLEWARE, settings.API_MIDDLEWARE):
        assert stack[:2] == [
            "apps.core.middleware.RequestObservationMiddleware",
            "corsheaders.middleware.CorsMiddleware",
        ]
    _, headers, _ = _preflight("/admin/login/", ALLOWED)
    assert "access-control-allow-origin" not in headers
    settings.CORS_ALLOWED_ORIGINS = []
    _, headers, _ = _preflight("/v1/sessions", ALLOWED)
    assert "access-control-allow-origin" not in headers


def test_an_actual_request_with_an_origin_gets_the_header_and_its_normal_answer(owner, other):
    session = session_start(owner.api_key.app, greeting="hi")
    auth = {"Origin": ALLOWED, "Authorization": f"Bearer {owner.raw_key}"}
    status, headers, body = _request("GET", f"/v1/sessions/{session.id}", auth)
    assert status == 200 and headers["access-control-allow-origin"] == ALLOWED
    assert session.id.encode() in body

    # another app's session is still absent, and the browser may read why
    foreign = {"Origin": ALLOWED, "Authorization": f"Bearer {other.raw_key}"}
    status, headers, body = _request("GET", f"/v1/sessions/{session.id}", foreign)
    assert status == 404 and headers["access-control-allow-origin"] == ALLOWED
    assert b'"session_not_found"' in body

    # a write without a key is refused with the native error, not answered as a preflight
    sessions_before = Session.objects.count()
    status, headers, body = _request(
        "POST",
        "/v1/sessions",
        {"Origin": ALLOWED, "Content-Type": "application/json"},
        b'{"character": "luna", "external_user_ref": "u"}',
    )
    assert status == 401 and b'"missing_api_key"' in body and headers["access-control-allow-origin"] == ALLOWED
    assert Session.objects.count() == sessions_before
