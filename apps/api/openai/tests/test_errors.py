"""OpenAI's error shape for what is not a field error: unknown routes, methods, rate limits (DRF's throttles,
which the plan limiter plugs into), oversized bodies; and sessions that survive a republished character."""

import openai
import pytest
from rest_framework.throttling import BaseThrottle

from apps.api.openai import views
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Session

pytestmark = pytest.mark.django_db

CHAT = "/openai/v1/chat/completions"
HELLO = {"model": "character:luna", "messages": [{"role": "user", "content": "hi"}]}


class Exhausted(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        return False

    def wait(self) -> float:
        return 7.0


@pytest.fixture
def throttled(monkeypatch):
    for view in (views.ModelListApi, views.ChatCompletionsApi):
        monkeypatch.setattr(view, "throttle_classes", [Exhausted])


@pytest.mark.parametrize(("method", "path"), [("get", "/openai/v1/nothing"), ("post", "/openai/v1/completions")])
def test_an_unknown_route_is_404_in_openais_shape(api, method, path):
    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": f"Invalid URL ({method.upper()} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    }


def test_a_wrong_method_is_405(api):
    response = api.get(CHAT)
    assert response.status_code == 405 and response.json()["error"]["type"] == "invalid_request_error"


def test_the_default_throttles_apply_and_over_the_limit_is_429_with_retry_after(api, luna, throttled):
    response = api.post(CHAT, HELLO, format="json")

    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.json()["error"] == {
        "message": "Rate limit reached for requests.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_client_raises_rate_limit_error(sdk, throttled):
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.models.list()
    assert raised.value.code == "rate_limit_exceeded" and raised.value.response.headers["retry-after"] == "7"


def test_the_views_keep_the_projects_default_throttles():
    from rest_framework.settings import api_settings

    for view in (views.ModelListApi, views.ModelDetailApi, views.ChatCompletionsApi, views.ImageGenerationsApi):
        assert view.throttle_classes == api_settings.DEFAULT_THROTTLE_CLASSES


def test_a_body_over_the_limit_is_413_in_openais_shape(api, settings):
    settings.REQUEST_MAX_BYTES = 100
    response = api.post(CHAT, {**HELLO, "messages": [{"role": "user", "content": "x" * 200}]}, format="json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_republished_character_keeps_the_users_session(api, owner, luna):
    body = {**HELLO, "user": "ada"}
    assert api.post(CHAT, body, format="json").status_code == 200
    character_publish(owner.api_key.app, slug="luna", greeting="Hello again.")

    assert api.post(CHAT, body, format="json").status_code == 200

    (session,) = Session.objects.filter(character=luna, external_user_ref="ada")
    assert session.user_turn_count == 2


def test_browsers_on_allowed_origins_may_call_the_door(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    preflight = api.options(
        CHAT,
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_the_asgi_router_sends_cookieless_door_requests_to_the_api_stack():
    from config.asgi import application

    router = application.application_mapping["http"]
    assert "/openai/" in router.prefixes
