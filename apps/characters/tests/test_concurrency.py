"""Concurrent publishes and patches of one character, with real threads each on its own connection."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.characters import services
from apps.characters.models import Character, CharacterVersion
from apps.characters.tests.factories import character_publish

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(count: int, function) -> list:
    start = threading.Barrier(count)

    def run(index: int):
        try:
            start.wait()
            return function(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_patches_each_keep_the_others_changes(owner):
    """The merge reads the current content under the row lock, so no patch loses another's field."""
    app = owner.api_key.app
    character_publish(app, slug="luna", display_name="Luna")
    patches = 6

    results = _in_threads(
        patches,
        lambda index: services.character_patch(app=app, slug="luna", changes={"profile": {f"key_{index}": index}}),
    )

    assert sorted(result.version.version_number for result in results) == list(range(2, 2 + patches))
    character = Character.objects.select_related("current_version").get(app=app, slug="luna")
    assert character.current_version.content["profile"] == {f"key_{index}": index for index in range(patches)}


def test_two_apps_creating_the_same_slug_at_once_get_a_character_each(owner, other):
    apps = [owner.api_key.app, other.api_key.app] * 3  # each app posts three times

    results = _in_threads(
        len(apps), lambda index: services.character_publish(app=apps[index], data={"slug": "luna", "display_name": "L"})
    )

    assert sum(result.created_character for result in results) == 2
    assert set(Character.objects.filter(slug="luna").values_list("app_id", flat=True)) == {app.pk for app in apps}
    assert CharacterVersion.objects.filter(character__slug="luna").count() == 2
