"""Keys and quotas through the accounts services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts import errors, selectors, services
from apps.accounts.models import ApiKey, App


def test_authenticate_returns_the_live_key_with_its_app(owner):
    key = selectors.api_key_authenticate(raw_key=owner.raw_key)
    assert key.pk == owner.api_key.pk and key.app == owner.api_key.app


@pytest.mark.parametrize("raw_key", ["", "drm", "drm_abc", "xyz_abc_def", "drm_a_b_c"])
def test_malformed_keys_are_invalid(db, raw_key):
    with pytest.raises(errors.ApiKeyInvalid):
        selectors.api_key_authenticate(raw_key=raw_key)


def test_revoke_is_immediate_and_keeps_the_first_timestamp(owner):
    first = services.api_key_revoke(api_key=owner.api_key).revoked_at
    again = services.api_key_revoke(api_key=owner.api_key).revoked_at
    assert first is not None and again == first
    with pytest.raises(errors.ApiKeyRevoked):
        selectors.api_key_authenticate(raw_key=owner.raw_key)


def test_expiry_is_checked_at_use(db):
    app = services.app_create(name="a")
    issued = services.api_key_create(app=app, expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(errors.ApiKeyExpired):
        selectors.api_key_authenticate(raw_key=issued.raw_key)


def test_quota_consume_counts_up_to_the_cap_then_refuses(db):
    app = services.app_create(name="capped", max_sessions=2)
    services.app_quota_consume(app=app, resource="sessions")
    services.app_quota_consume(app=app, resource="sessions")
    with pytest.raises(errors.QuotaExhausted) as raised:
        services.app_quota_consume(app=app, resource="sessions")
    assert (raised.value.code, raised.value.status) == ("quota_exceeded", 403)
    assert App.objects.get(pk=app.pk).sessions_used == 2


def test_uncapped_apps_are_neither_refused_nor_written(db, django_assert_num_queries):
    # an app without a cap is never refused, and its row is not touched (no lock taken on every send)
    app = services.app_create(name="free")
    with django_assert_num_queries(0):
        for _ in range(3):
            services.app_quota_consume(app=app, resource="user_messages")
    assert App.objects.get(pk=app.pk).user_messages_used == 0


def test_sandbox_keys_follow_the_ttl_setting(db, settings):
    settings.DEMO_SANDBOX_ENABLED = True
    settings.DEMO_SANDBOX_TTL_HOURS = 2
    issued = services.sandbox_issue(client_address="127.0.0.9")
    app = issued.api_key.app
    assert app.is_sandbox and (app.max_characters, app.max_sessions, app.max_user_messages) == (3, 5, 60)
    remaining = issued.api_key.expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < remaining <= timedelta(hours=2)
    assert ApiKey.objects.filter(app=app).count() == 1


def test_key_use_is_recorded_at_most_once_a_minute(owner, api, django_assert_num_queries):
    services._last_use_written.clear()
    key = owner.api_key
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None
    # the first authenticated request records the use
    assert api.get("/v1/characters").status_code == 200
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    # further uses within the minute write nothing
    with django_assert_num_queries(0):
        services.api_key_mark_used(api_key=key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    # a minute later the next use is recorded again
    services._last_use_written[key.pk] -= services._LAST_USE_EVERY
    services.api_key_mark_used(api_key=key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_budget_policies_are_cached_per_app_and_a_change_is_seen_at_once(owner, other, django_assert_num_queries):
    app, other_app = owner.api_key.app, other.api_key.app
    assert selectors.budget_policies_exist(app=app) is False
    assert selectors.budget_policies_exist(app=other_app) is False
    with django_assert_num_queries(0):
        assert selectors.budget_policies_exist(app=app) is False
    services.budget_policy_set(app=app, limit_credits=Decimal(5))
    assert selectors.budget_policies_exist(app=app) is True
    with django_assert_num_queries(0):
        assert selectors.budget_policies_exist(app=other_app) is False  # another app's scope is untouched
    services.budget_policy_clear(app=app)
    assert selectors.budget_policies_exist(app=app) is False
