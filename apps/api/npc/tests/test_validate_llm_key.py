"""``POST /npc/api/v1/sdk/validate-llm-key`` on the wire: its statuses and bodies, and what it costs."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/npc/api/v1/sdk/validate-llm-key"
KEY = "sk-check-me-1234567890"


def test_a_working_key_in_two_statements_and_one_model_call(foil, byok_llm, django_assert_num_queries):
    with django_assert_num_queries(2):  # the API key's lookup and its last-used mark
        response = foil.post(URL, {"model": "m"}, format="json", headers={"X-LLM-API-Key": KEY})
    assert (response.status_code, response.json()) == (200, {"valid": True, "model": "m"})
    assert len(byok_llm.requests) == 1


def test_an_unreachable_provider_is_503_in_foils_shape(foil, settings):
    settings.LLM_BYOK_BASE_URL = "http://127.0.0.1:9/v1"
    response = foil.post(URL, {}, format="json", headers={"X-LLM-API-Key": KEY})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "llm_unavailable" and KEY not in response.content.decode()


def test_a_server_error_at_the_provider_is_503_too(foil, byok_llm):
    byok_llm.set_mode("fail")
    response = foil.post(URL, {}, format="json", headers={"X-LLM-API-Key": KEY})
    assert (response.status_code, response.json()["error"]["code"]) == (503, "llm_unavailable")


@pytest.mark.parametrize(
    ("body", "headers", "named"),
    [
        ({}, {}, "X-LLM-API-Key"),
        ({}, {"X-LLM-API-Key": "sk bad"}, "X-LLM-API-Key"),
        ({"model": "has space"}, {"X-LLM-API-Key": KEY}, "model"),
    ],
)
def test_a_bad_request_is_400_naming_what_is_wrong(foil, byok_llm, body, headers, named):
    response = foil.post(URL, body, format="json", headers=headers)
    assert response.status_code == 400 and named in response.json()["error"]["message"]
    assert byok_llm.requests == []


def test_without_the_platform_key_it_is_401(byok_llm):
    response = APIClient().post(URL, {}, format="json", headers={"X-LLM-API-Key": KEY})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_api_key")
    assert byok_llm.requests == []
