"""The ASGI entry point: bearer-key API requests take the slim middleware stack, everything else the site's."""

import threading

import pytest
from django.core import signals

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


@pytest.mark.django_db(transaction=True)
def test_an_api_request_runs_on_one_kept_thread_and_closes_before_it_is_sent(bearer):
    # given receivers that note the thread of each request's start and finish
    seen: list[tuple[str, int]] = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident(), threading.current_thread().name))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident(), threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        # when two API requests come one after the other
        first = _request("/v1/characters", [bearer])
        second = _request("/v1/characters", [bearer])
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    # then each started and finished (its database connection back in the pool) on one thread of the API's
    # kept pool, in one hop
    assert first[0] == second[0] == 200
    assert [event for event, _, _ in seen] == ["started", "finished", "started", "finished"]
    assert all(name.startswith("api") for _, _, name in seen), seen
    assert seen[0][1] == seen[1][1] and seen[2][1] == seen[3][1]


@pytest.mark.django_db(transaction=True)
def test_a_site_request_still_takes_djangos_handler():
    # Django's handler: the request's receivers run on a thread it starts for the request, not the API pool
    names: list[str] = []

    def started(**kwargs):
        names.append(threading.current_thread().name)

    signals.request_started.connect(started)
    try:
        status, _, _ = _request("/admin/login/", [])
    finally:
        signals.request_started.disconnect(started)

    assert status == 200
    assert names and not names[0].startswith("api")
