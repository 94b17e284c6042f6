"""The moving window behind every surface's rate limit, on both of its stores: Redis (one pipelined round trip
per hit) and this process's memory (the embedded default)."""

import time
import uuid

import pytest
from django.conf import settings
from limits import storage, strategies

from apps.core import rate_limits


@pytest.fixture(params=["memory", "redis"])
def store(request, monkeypatch):
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs REDIS_URL")
        backend = storage.RedisStorage(settings.REDIS_URL, key_prefix="test-rate")
    else:
        backend = storage.MemoryStorage()
    monkeypatch.setattr(rate_limits, "_limiter", strategies.MovingWindowRateLimiter(backend))
    return request.param


def test_exactly_the_limit_passes_and_the_state_counts_down(store):
    key = uuid.uuid4().hex
    before = time.time()
    states = [rate_limits.rate_limit_hit(key=key, per_minute=3) for _ in range(5)]
    assert [state.allowed for state in states] == [True, True, True, False, False]
    assert [state.remaining for state in states] == [2, 1, 0, 0, 0]
    assert {state.limit for state in states} == {3}
    # the oldest hit leaves the window a minute after it was made: that is when a slot frees up
    assert before + 59.99 <= states[-1].reset_at <= time.time() + 60  # (Redis keeps it to 0.1 ms)
    assert 55 <= states[-1].retry_after <= 60
    assert states[0].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": str(int(states[0].reset_at) + (states[0].reset_at % 1 > 0)),
    }


def test_counters_are_separate_and_a_new_limit_applies_to_the_running_window(store):
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    for _ in range(3):
        assert rate_limits.rate_limit_hit(key=first, per_minute=5).allowed
    assert rate_limits.rate_limit_hit(key=second, per_minute=5).remaining == 4
    lowered = rate_limits.rate_limit_hit(key=first, per_minute=3)  # the plan was lowered from 5 to 3
    assert (lowered.allowed, lowered.remaining) == (False, 0)
    raised = rate_limits.rate_limit_hit(key=first, per_minute=10)
    assert (raised.allowed, raised.remaining) == (True, 6)


def test_an_unreachable_redis_lets_requests_through_uncounted(monkeypatch, caplog):
    backend = storage.RedisStorage("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)  # the discard port
    monkeypatch.setattr(rate_limits, "_limiter", strategies.MovingWindowRateLimiter(backend))
    assert rate_limits.rate_limit_hit(key=uuid.uuid4().hex, per_minute=1) is None
    assert "Redis unreachable" in caplog.text
