"""The API key list's revoke action: live keys are revoked through the service; revoked ones are left alone."""

from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import ApiKey

CHANGELIST = "admin:accounts_apikey_changelist"


def _revoke(admin_client, keys):
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "revoke", "_selected_action": [key.pk for key in keys]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_revoking_a_live_key_locks_it_out_of_the_api(admin_client, owner, api):
    assert api.get("/v1/characters").status_code == 200
    messages = _revoke(admin_client, [owner.api_key])
    assert messages == [f"Revoked 1 key(s): {owner.api_key.prefix}."]
    assert ApiKey.objects.get(pk=owner.api_key.pk).revoked_at is not None
    assert api.get("/v1/characters").status_code == 403


def test_an_already_revoked_key_is_left_as_it_was(admin_client, owner):
    services.api_key_revoke(api_key=owner.api_key)
    revoked_at = ApiKey.objects.get(pk=owner.api_key.pk).revoked_at

    messages = _revoke(admin_client, [owner.api_key])

    assert messages == ["1 key(s) were already revoked and left as they were."]
    assert ApiKey.objects.get(pk=owner.api_key.pk).revoked_at == revoked_at
