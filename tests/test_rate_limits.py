"""The one rate limiter of every surface: which views it counts, its headers, each surface's 429 and 402, plans
edited in the admin, apps without a plan, sandbox apps, and the stream requests it leaves alone.

Two web processes sharing one key are in ``tests/test_live_rate_limits.py``.
"""

import time
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan
from apps.api.npc.tests.conftest import foil_client
from apps.api.shared.throttling import PlanRateThrottle
from apps.conversations.models import Event
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core.tests.asgi_requests import asgi_request
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db


def _plan(per_minute: int, *issued) -> Plan:
    plan = Plan.objects.create(slug=f"test-{per_minute}-{len(issued)}", name="Test", requests_per_minute=per_minute)
    for key in issued:
        accounts_services.app_plan_set(app=key.api_key.app, plan=plan)
    return plan


def _api_views(patterns=None, prefix: str = ""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                yield prefix + str(entry.pattern), view


def test_every_api_view_of_every_surface_is_counted_except_stream_token_minting():
    views = list(_api_views())
    assert {path.split("/")[0] for path, _ in views} >= {"v1", "emotion", "npc"}
    exempt = set()
    for path, view in views:
        assert any(isinstance(throttle, PlanRateThrottle) for throttle in view().get_throttles()), path
        if getattr(view, "rate_limit_exempt", False):
            exempt.add(path)
    assert exempt == {"v1/sessions/<str:session_id>/stream-token", "emotion/v1/persona/<str:session_id>/stream-token"}


def test_an_app_without_a_plan_is_not_limited_and_gets_no_headers(api):
    for _ in range(30):
        response = api.get("/v1/characters")
        assert response.status_code == 200
    assert not any(name.lower().startswith("x-ratelimit") for name in response.headers)


def test_counted_responses_say_the_limit_what_is_left_and_when_a_slot_frees(api, owner):
    _plan(3, owner)
    before = time.time()
    seen = [api.get("/v1/characters") for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert [r["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0"]
    assert {r["X-RateLimit-Limit"] for r in seen} == {"3"}
    reset = int(seen[0]["X-RateLimit-Reset"])
    assert before + 59 <= reset <= time.time() + 61  # epoch seconds: a minute after the first request


def test_a_native_429_is_the_house_shape_with_retry_after_and_the_headers(api, other_api, owner, other):
    _plan(2, owner, other)
    assert [api.get("/v1/characters").status_code for _ in range(2)] == [200, 200]
    refused = api.post("/v1/characters", {"slug": "luna", "display_name": "Luna"}, format="json")
    assert refused.status_code == 429
    detail = refused.json()["detail"]
    assert detail["code"] == "rate_limited" and detail["message"] and detail["fix"]
    assert 55 <= int(refused["Retry-After"]) <= 60
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("2", "0")
    assert api.get("/v1/characters").status_code == 429  # refused requests do not free the window
    assert other_api.get("/v1/characters").status_code == 200  # another key has its own window


def test_each_key_of_an_app_has_its_own_window(api, owner):
    _plan(1, owner)
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {accounts_services.api_key_create(app=owner.api_key.app).raw_key}")
    assert api.get("/v1/characters").status_code == 200
    assert api.get("/v1/characters").status_code == 429
    assert second.get("/v1/characters").status_code == 200


def test_an_emotion_429_is_molroos_rate_limit(api, owner):
    _plan(1, owner)
    assert api.get("/emotion/v1/presets").status_code == 200
    refused = api.get("/emotion/v1/presets")
    assert refused.status_code == 429
    assert refused.json() == {"error": {"code": "RATE_LIMIT", "status": 429, "message": "Too many requests."}}
    assert int(refused["Retry-After"]) >= 1 and refused["X-RateLimit-Remaining"] == "0"


def test_an_npc_429_is_foils_shape(owner):
    _plan(1, owner)
    foil = foil_client(owner.raw_key)
    assert foil.get("/npc/api/v1/sdk/personas").status_code == 200
    refused = foil.get("/npc/api/v1/sdk/personas")
    assert refused.status_code == 429
    assert refused.json() == {"error": {"code": "rate_limited", "message": "Too many requests."}}
    assert int(refused["Retry-After"]) >= 1 and refused["X-RateLimit-Limit"] == "1"


def test_an_npc_message_past_the_balance_is_402_in_foils_shape_and_writes_nothing(owner):
    app = owner.api_key.app
    npc = npcs_services.npc_save(app=app, body=scenario_body())
    foil = foil_client(owner.raw_key)
    body = {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"}
    assert foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/init-session", body, format="json").status_code == 200
    accounts_services.app_balance_set(app=app, remaining_credits=Decimal(0))
    events = Event.objects.filter(session__app=app).count()

    refused = foil.post(
        f"/npc/api/v1/sdk/chat/{npc.id}/message", {"message": "What a lovely gate", "user_session_id": "p1"}, "json"
    )

    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "insufficient_balance" and error["message"].startswith("Insufficient account balance")
    assert Event.objects.filter(session__app=app).count() == events


def test_minting_stream_tokens_is_not_counted(api, owner):
    session = session_start(owner.api_key.app, external_user_ref="ann")
    _plan(2, owner)
    for _ in range(4):
        minted = api.post(f"/v1/sessions/{session.id}/stream-token")
        assert minted.status_code == 201
        assert "X-RateLimit-Limit" not in minted
    assert [api.get("/v1/characters").status_code for _ in range(3)] == [200, 200, 429]


def test_a_sandbox_key_is_on_the_sandbox_plan(anon, settings):
    settings.DEMO_SANDBOX_ENABLED = True
    issued = anon.post("/v1/demo/sandbox-key")
    assert issued.status_code == 201, issued.json()
    assert "X-RateLimit-Limit" not in issued  # unauthenticated: not counted
    sandbox = APIClient()
    sandbox.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['data']['api_key']}")
    response = sandbox.get("/v1/characters")
    assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("120", "119")


def test_editing_a_plan_in_the_admin_changes_the_limit(admin_client, api, owner):
    free = Plan.objects.get(slug="free")
    accounts_services.app_plan_set(app=owner.api_key.app, plan=free)
    assert api.get("/v1/characters")["X-RateLimit-Limit"] == "5"

    form = {"slug": "free", "name": "Free", "requests_per_minute": "2"}
    saved = admin_client.post(f"/admin/accounts/plan/{free.pk}/change/", form)
    assert saved.status_code == 302, saved.content[:2000]

    assert api.get("/v1/characters")["X-RateLimit-Limit"] == "2"
    assert api.get("/v1/characters").status_code == 429  # the earlier request counts against the new limit


def test_putting_an_app_on_a_plan_and_topping_up_in_the_admin(admin_client, api, owner):
    app = owner.api_key.app
    form = {
        "name": app.name,
        "plan": str(Plan.objects.get(slug="pro").pk),
        "balance_top_up": "7.5",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "staff-TOTAL_FORMS": "0",
        "staff-INITIAL_FORMS": "0",
    }
    saved = admin_client.post(f"/admin/accounts/app/{app.pk}/change/", form)
    assert saved.status_code == 302, saved.content[:3000]
    data = api.get("/v1/account").json()["data"]
    assert data["plan"]["slug"] == "pro" and data["balance"]["remaining_credits"] == 7.5
    page = admin_client.get(f"/admin/accounts/app/{app.pk}/change/").content.decode()
    assert "7.5 left of 7.5 credited" in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cookie", ["", "csrftoken=x"], ids=["api stack", "site stack"])
def test_both_handler_stacks_add_the_headers_and_cors_exposes_them(owner, settings, cookie):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    _plan(10, owner)
    headers = [(b"authorization", f"Bearer {owner.raw_key}".encode()), (b"origin", b"https://app.example.com")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    status, answered, _ = asgi_request("GET", "/v1/characters", headers)
    assert status == 200
    assert answered[b"x-ratelimit-limit"] == b"10"
    exposed = {name.strip().lower() for name in answered[b"access-control-expose-headers"].decode().split(",")}
    assert exposed >= {"retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


def test_a_request_is_answered_without_headers_while_the_counters_are_unreachable(api, owner, monkeypatch):
    from limits import storage, strategies

    from apps.core import rate_limits

    _plan(1, owner)
    unreachable = storage.RedisStorage("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    monkeypatch.setattr(rate_limits, "_limiter", strategies.MovingWindowRateLimiter(unreachable))
    for _ in range(2):
        response = api.get("/v1/characters")
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response
