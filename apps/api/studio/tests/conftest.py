"""The studio surface's tests drive a running server over real HTTP (pytest-django's live server) with httpx,
as a client of the seed's API would, with our API keys as bearer tokens."""

from decimal import Decimal

import httpx
import pytest

from apps.accounts import services as accounts_services


def studio_client(base_url: str, raw_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {raw_key}"} if raw_key else {}
    return httpx.Client(base_url=f"{base_url}/studio/api/v1/", headers=headers, timeout=30)


@pytest.fixture
def studio(live_server, owner):
    with studio_client(live_server.url, owner.raw_key) as client:
        yield client


@pytest.fixture
def other_studio(live_server, other):
    with studio_client(live_server.url, other.raw_key) as client:
        yield client


@pytest.fixture
def anon_studio(live_server):
    with studio_client(live_server.url, None) as client:
        yield client


@pytest.fixture
def broke(owner):
    """The owner's app with a hard budget that has no room for anything (every model call and picture: 402)."""
    accounts_services.budget_policy_set(app=owner.api_key.app, limit_credits=Decimal(0))
    return owner


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return body["error"]
