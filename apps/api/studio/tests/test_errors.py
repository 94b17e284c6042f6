"""Every failure on the studio surface is ``{"error": "..."}`` with the seed's status: unknown routes and
methods, keys, the rate limit (whatever throttle the project's defaults apply), bodies over the size limit,
and a bug (500 ``Internal error``, never a traceback)."""

import pytest
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.api.studio.tests.conftest import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


class _RefuseAfterTwo(BaseThrottle):
    """A stand-in for the plan limiter: the project's default throttle classes are what the studio applies."""

    seen = 0

    def allow_request(self, request, view) -> bool:
        _RefuseAfterTwo.seen += 1
        return _RefuseAfterTwo.seen <= 2

    def wait(self) -> float:
        return 42.0


@pytest.mark.parametrize(
    "path", ["nothing-here", "models/", "conversations/sess_x/other", "agents/char_x/avatar", "../v2/models"]
)
def test_unknown_routes_are_404_in_the_seeds_shape(studio, path):
    assert_error(studio.get(path), 404)
    assert_error(studio.post(path, json={}), 404)


def test_anything_else_under_studio_is_404_in_the_seeds_shape(live_server, studio):
    assert_error(studio.get(f"{live_server.url}/studio/api/v2/models"), 404)
    assert_error(studio.get(f"{live_server.url}/studio/"), 404)


@pytest.mark.parametrize(("method", "path"), [("DELETE", "models"), ("PUT", "conversations"), ("POST", "agents/x")])
def test_a_method_the_route_does_not_take_is_405(studio, method, path):
    assert_error(studio.request(method, path), 405)


def test_a_bad_key_is_401(studio):
    bad = studio.get("models", params={"type": "llm"}, headers={"Authorization": "Bearer drm_nope_nope"})
    assert_error(bad, 401)
    assert_error(studio.get("models", params={"type": "llm"}, headers={"Authorization": "Basic abc"}), 401)


def test_over_the_rate_limit_it_is_429_with_retry_after(studio, monkeypatch):
    # DRF reads DEFAULT_THROTTLE_CLASSES into APIView.throttle_classes once, at import; the studio's views
    # inherit it (they name no throttle of their own), so whatever limiter the settings install applies here.
    _RefuseAfterTwo.seen = 0
    monkeypatch.setattr(APIView, "throttle_classes", [_RefuseAfterTwo])
    assert studio.get("models", params={"type": "llm"}).status_code == 200
    assert studio.get("conversations").status_code == 200
    refused = studio.get("models", params={"type": "llm"})

    assert "Rate limit" in assert_error(refused, 429)
    assert refused.headers["Retry-After"] == "42"


def test_a_body_over_the_size_limit_is_413_in_the_seeds_shape(studio, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = studio.post("conversations", json={"title": "x" * 2000})
    assert_error(response, 413)


def test_a_bug_is_500_internal_error_without_details(studio, monkeypatch):
    from apps.api.studio.views import models

    def broken():
        raise RuntimeError("secret detail")

    monkeypatch.setattr(models.llm_selectors, "rate_card_list", broken)
    response = studio.get("models", params={"type": "llm"})

    assert assert_error(response, 500) == "Internal error"
    assert "secret" not in response.text
