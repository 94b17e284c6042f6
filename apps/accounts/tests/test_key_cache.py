"""The per-process cache of verified API keys."""

import pytest
from django.utils import timezone

from apps.accounts import errors, selectors, services
from apps.accounts.models import ApiKey


@pytest.fixture
def cached(settings):
    settings.API_KEY_CACHE_SECONDS = 60
    selectors._verified.clear()
    yield
    selectors._verified.clear()


def test_a_verified_key_is_served_without_a_query(owner, cached, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = selectors.api_key_authenticate(raw_key=owner.raw_key)
    with django_assert_num_queries(0):
        again = selectors.api_key_authenticate(raw_key=owner.raw_key)
    assert again.pk == first.pk == owner.api_key.pk and again.app.pk == owner.api_key.app.pk


def test_unknown_keys_are_never_cached(owner, cached, django_assert_num_queries):
    wrong = owner.raw_key[:-2] + ("aa" if not owner.raw_key.endswith("aa") else "bb")
    for _ in range(2):
        with django_assert_num_queries(1), pytest.raises(errors.ApiKeyInvalid):
            selectors.api_key_authenticate(raw_key=wrong)
    assert selectors._verified == {}


def test_revoking_in_this_process_takes_effect_at_once(owner, cached, api):
    assert api.get("/v1/characters").status_code == 200
    services.api_key_revoke(api_key=owner.api_key)
    response = api.get("/v1/characters")
    assert (response.status_code, response.json()["detail"]["code"]) == (403, "api_key_revoked")


def test_a_revocation_made_elsewhere_lands_when_the_entry_expires(owner, cached, settings):
    selectors.api_key_authenticate(raw_key=owner.raw_key)
    # another process revokes: this process's entry still vouches for the key until its TTL runs out
    ApiKey.objects.filter(pk=owner.api_key.pk).update(revoked_at=timezone.now())
    selectors.api_key_authenticate(raw_key=owner.raw_key)
    for digest, (_, key) in list(selectors._verified.items()):
        selectors._verified[digest] = (0.0, key)  # the TTL has passed
    with pytest.raises(errors.ApiKeyRevoked):
        selectors.api_key_authenticate(raw_key=owner.raw_key)


def test_expiry_is_checked_on_every_hit(owner, cached):
    ApiKey.objects.filter(pk=owner.api_key.pk).update(expires_at=timezone.now() + timezone.timedelta(seconds=60))
    key = selectors.api_key_authenticate(raw_key=owner.raw_key)
    key.expires_at = timezone.now() - timezone.timedelta(seconds=1)  # the cached row's expiry has come
    with pytest.raises(errors.ApiKeyExpired):
        selectors.api_key_authenticate(raw_key=owner.raw_key)


def test_the_cache_stays_bounded(owner, cached, settings, monkeypatch):
    monkeypatch.setattr(selectors, "_VERIFIED_MAX", 3)
    for index in range(3):
        selectors._verified[f"expired-{index}"] = (0.0, owner.api_key)
    selectors.api_key_authenticate(raw_key=owner.raw_key)
    assert len(selectors._verified) == 1  # the expired entries made room for the new one
