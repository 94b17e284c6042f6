"""GET /v1/account (the plan and the balance), and the balance on a native send: 402 before any model call,
debited by what the call cost once it settles."""

from decimal import Decimal

import pytest

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan, UsageRecord
from apps.api.native.tests.contract import assert_error
from apps.conversations.tests.factories import session_start
from apps.llm.tests.factories import llm_model_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(fake_llm):
    """The default model is the fake server's, at a price: every reply costs credits."""
    llm_model_create(
        name="fake-chat", is_default=True, prompt_credits_per_1k=Decimal(1), completion_credits_per_1k=Decimal(3)
    )
    return fake_llm


def test_an_app_without_plan_or_balance_has_neither_and_no_rate_headers(api):
    response = api.get("/v1/account")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["plan"], data["balance"]) == (None, None)
    assert not any(name.lower().startswith("x-ratelimit") for name in response.headers)


def test_the_account_shows_the_plan_and_the_balance(api, owner):
    app = owner.api_key.app
    accounts_services.app_plan_set(app=app, plan=Plan.objects.get(slug="pro"))
    accounts_services.app_balance_top_up(app=app, credits=Decimal("25.5"))
    response = api.get("/v1/account")
    data = response.json()["data"]
    assert data["plan"] == {"slug": "pro", "name": "Pro", "requests_per_minute": 100}
    assert data["balance"] == {
        "credited_credits": 25.5,
        "spent_credits": 0.0,
        "reserved_credits": 0.0,
        "remaining_credits": 25.5,
    }
    assert response["X-RateLimit-Limit"] == "100"


def test_the_account_needs_a_key_and_shows_only_the_callers_app(anon, other_api, owner):
    assert_error(anon.get("/v1/account"), 401, "missing_api_key")
    accounts_services.app_balance_top_up(app=owner.api_key.app, credits=Decimal(5))
    assert other_api.get("/v1/account").json()["data"]["balance"] is None


def test_a_send_past_the_balance_is_402_before_any_model_call_and_writes_nothing(api, owner, priced, nothing_written):
    session = session_start(owner.api_key.app, external_user_ref="ann")
    accounts_services.app_balance_set(app=owner.api_key.app, remaining_credits=Decimal(0))

    with nothing_written():
        response = api.post(f"/v1/sessions/{session.id}/messages", {"text": "hi"}, format="json")

    detail = assert_error(response, 402, "insufficient_balance")
    assert detail["message"].startswith("Insufficient account balance")
    assert "top it up" in detail["fix"]
    assert priced.requests == []


def test_a_send_within_the_balance_is_debited_what_it_cost(api, owner, priced, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="ann")
    accounts_services.app_balance_top_up(app=app, credits=Decimal(10))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/v1/sessions/{session.id}/messages", {"text": "hello there"}, format="json")

    assert response.status_code == 202, response.json()
    assert len(priced.chat_requests) == 1
    records = UsageRecord.objects.filter(app=app)
    assert {record.status for record in records} == {"settled"}
    spent = sum(record.credits for record in records)
    assert spent > 0
    balance = api.get("/v1/account").json()["data"]["balance"]
    assert balance["spent_credits"] == float(spent)
    assert balance["reserved_credits"] == 0
    assert balance["remaining_credits"] == float(Decimal(10) - spent)
