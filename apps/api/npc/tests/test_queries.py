"""Statement counts of the persona lists: one query whatever the number of NPCs (each persona's name and
description come from its character's current version, joined in that query, never read per NPC)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db

URLS = ("/npc/api/v1/sdk/personas", "/npc/api/v1/personas", "/npc/api/v1/personas?public_only=true")
LIST_STATEMENTS = 1  # the NPCs with their characters and versions (the API key comes from its cache)


@pytest.fixture(autouse=True)
def _key_cache(settings):
    settings.API_KEY_CACHE_SECONDS = 5


def _counts(foil) -> dict[str, tuple[int, int]]:
    counts = {}
    for url in URLS:
        assert foil.get(url).status_code == 200  # warms the key cache
        with CaptureQueriesContext(connection) as captured:
            response = foil.get(url)
        assert response.status_code == 200, response.content
        counts[url] = (len(captured.captured_queries), len(response.json()))
    return counts


def test_the_persona_lists_take_one_statement_for_one_npc_or_many(foil, owner, other):
    npcs_services.npc_save(app=owner.api_key.app, body=scenario_body(name="First", is_public=True))
    npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name="Theirs", is_public=True))
    few = _counts(foil)
    for index in range(5):
        npcs_services.npc_save(app=owner.api_key.app, body=scenario_body(name=f"Mine {index}", is_public=True))
        npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name=f"Theirs {index}", is_public=True))
    many = _counts(foil)

    assert few == {URLS[0]: (LIST_STATEMENTS, 1), URLS[1]: (LIST_STATEMENTS, 2), URLS[2]: (LIST_STATEMENTS, 2)}
    assert many == {URLS[0]: (LIST_STATEMENTS, 6), URLS[1]: (LIST_STATEMENTS, 12), URLS[2]: (LIST_STATEMENTS, 12)}
    names = [persona["name"] for persona in foil.get(URLS[1]).json()]
    assert "Theirs 4" in names and "First" in names
