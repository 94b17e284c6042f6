"""The characters list: its columns, search, the app and readiness filters, and a statement count that stays
flat as rows grow."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.characters.tests.factories import character_publish
from apps.characters.tests.test_content import FULL

CHANGELIST = "/admin/characters/character/"


def _rows(html: str) -> list[str]:
    return re.findall(r'<th class="field-slug"><a href="[^"]+">([^<]+)</a></th>', html)


def test_columns_show_app_version_and_readiness(admin_client, owner):
    character_publish(owner.api_key.app, slug="luna", display_name="Luna Lovelace", **FULL)
    html = admin_client.get(CHANGELIST).content.decode()
    for column in ("slug", "display_name", "app", "published_version", "readiness", "updated_at"):
        assert f"column-{column}" in html, column
    assert '<td class="field-readiness">ready (100%)</td>' in html
    assert '<td class="field-published_version">1</td>' in html and "Luna Lovelace" in html


def test_search_by_slug_or_name(admin_client, owner):
    app = owner.api_key.app
    character_publish(app, slug="luna", display_name="Moon Girl")
    character_publish(app, slug="sol", display_name="Sun Boy")
    assert _rows(admin_client.get(CHANGELIST, {"q": "moon"}).content.decode()) == ["luna"]
    assert _rows(admin_client.get(CHANGELIST, {"q": "sol"}).content.decode()) == ["sol"]


def test_filters_by_app_and_by_readiness(admin_client, owner, other):
    character_publish(owner.api_key.app, slug="ready-one", **FULL)
    character_publish(owner.api_key.app, slug="thin-one")
    character_publish(other.api_key.app, slug="elsewhere", **FULL)

    ready = admin_client.get(CHANGELIST, {"readiness_status__exact": "ready"}).content.decode()
    needs_work = admin_client.get(CHANGELIST, {"readiness_status__exact": "needs_work"}).content.decode()
    by_app = admin_client.get(CHANGELIST, {"app__id__exact": other.api_key.app_id}).content.decode()

    assert sorted(_rows(ready)) == ["elsewhere", "ready-one"]
    assert _rows(needs_work) == ["thin-one"]
    assert _rows(by_app) == ["elsewhere"]
    assert "By readiness status" in ready and "By app" in ready


def _count(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("more", [27])
def test_the_list_costs_the_same_statements_for_3_and_30_characters(admin_client, owner, other, more):
    for index in range(3):
        character_publish((owner if index % 2 else other).api_key.app, slug=f"c{index}", **FULL)
    admin_client.get(CHANGELIST)  # the session and content types are warm from here on
    with_3 = _count(admin_client)
    for index in range(3, 3 + more):
        character_publish((owner if index % 2 else other).api_key.app, slug=f"c{index}")
    with_30 = _count(admin_client)
    assert len(_rows(admin_client.get(CHANGELIST).content.decode())) == 30
    assert with_3 == with_30 == 6, (with_3, with_30)
