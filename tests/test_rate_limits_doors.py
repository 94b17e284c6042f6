"""The plan's rate limit and the app's balance on the two doors built beside it, over real HTTP (pytest-django's
live server): the studio surface as the seed's client sees it (httpx) and the OpenAI door through OpenAI's own
client. Their views name no throttle: the limiter reaches them through REST framework's defaults."""

from decimal import Decimal

import openai
import pytest

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan, UsageRecord
from apps.api.studio.tests.conftest import studio_client
from apps.characters.tests.factories import character_publish

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Tell me about AI."}]


@pytest.fixture
def one_a_minute(owner) -> Plan:
    plan = Plan.objects.create(slug="one-a-minute", name="One", requests_per_minute=1)
    accounts_services.app_plan_set(app=owner.api_key.app, plan=plan)
    return plan


@pytest.fixture
def spent(owner):
    """The owner's app with a balance that has nothing left."""
    accounts_services.app_balance_set(app=owner.api_key.app, remaining_credits=Decimal(0))
    return owner


@pytest.fixture
def sdk(live_server, owner):
    with openai.OpenAI(base_url=f"{live_server.url}/openai/v1", api_key=owner.raw_key, max_retries=0) as client:
        yield client


def test_the_studio_answers_its_own_429_with_the_headers(live_server, owner, one_a_minute):
    with studio_client(live_server.url, owner.raw_key) as studio:
        assert studio.get("models", params={"type": "llm"}).status_code == 200
        refused = studio.get("models", params={"type": "llm"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert refused.json() == {"error": f"Rate limit exceeded; retry in {wait} seconds."}
    assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == ("1", "0")


def test_a_studio_completion_past_the_balance_is_402_before_any_model_call(live_server, spent, fake_llm):
    with studio_client(live_server.url, spent.raw_key) as studio:
        response = studio.post("completions", json={"messages": MESSAGES, "llm_id": "fake-chat"})
    assert response.status_code == 402
    message = response.json()["error"]
    assert message.startswith("Insufficient account balance:") and message.count("Insufficient account balance") == 1
    assert fake_llm.requests == []
    assert not UsageRecord.objects.exists()


def test_openais_client_raises_rate_limit_error_from_the_plan(sdk, one_a_minute):
    page = sdk.models.with_raw_response.list()
    assert page.headers["x-ratelimit-limit"] == "1" and page.headers["x-ratelimit-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.models.list()
    assert raised.value.code == "rate_limit_exceeded"
    assert int(raised.value.response.headers["retry-after"]) >= 1


def test_an_openai_chat_past_the_balance_is_402_before_any_model_call(sdk, spent, fake_llm):
    character_publish(spent.api_key.app, slug="luna", greeting="Hi, I'm Luna.")
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="character:luna", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 402
    assert raised.value.code == "insufficient_quota"
    assert "Insufficient account balance" in raised.value.message
    assert fake_llm.requests == []
