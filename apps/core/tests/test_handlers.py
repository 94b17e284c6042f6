"""The ASGI entry point: bearer-key API requests take the slim middleware stack, everything else the site's."""

import pytest

from apps.core.tests.asgi_requests import asgi_request


def _request(path: str, headers: list[tuple[bytes, bytes]], method: str = "GET", body: bytes = b""):
    return asgi_request(method, path, headers, body, host=b"localhost")


@pytest.fixture
def bearer(owner) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {owner.raw_key}".encode())


@pytest.mark.django_db(transaction=True)
def test_cookieless_api_requests_skip_the_site_middleware(bearer):
    status, headers, _ = _request("/v1/characters", [bearer])
    assert status == 200
    assert b"x-frame-options" not in headers  # XFrameOptionsMiddleware is a site-only middleware
    assert headers[b"x-content-type-options"] == b"nosniff"  # SecurityMiddleware runs on both stacks


@pytest.mark.django_db(transaction=True)
def test_requests_with_a_cookie_and_the_admin_take_the_site_stack(bearer):
    status, headers, _ = _request("/v1/characters", [bearer, (b"cookie", b"sessionid=nothing")])
    assert status == 200 and headers[b"x-frame-options"] == b"DENY"
    status, headers, _ = _request("/admin/login/", [])
    assert status == 200 and headers[b"x-frame-options"] == b"DENY"


@pytest.mark.django_db(transaction=True)
def test_the_api_stack_still_limits_body_size_and_renders_native_errors(bearer, settings):
    settings.REQUEST_MAX_BYTES = 100
    body = b'{"slug": "luna", "display_name": "' + b"x" * 200 + b'"}'
    headers = [bearer, (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    status, _, content = _request("/v1/characters", headers, method="POST", body=body)
    assert status == 413 and b'"payload_too_large"' in content
    status, _, content = _request("/v1/characters", [])
    assert status == 401 and b'"missing_api_key"' in content
