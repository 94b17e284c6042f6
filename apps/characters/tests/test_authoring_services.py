"""The services behind the admin's authoring: draft save, readiness stored on every draft or version write (and
backfilled by the migration), republish as the rollback, who published, and alternate greetings."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.characters import services
from apps.characters.errors import CharacterVersionNotFound
from apps.characters.models import Character, CharacterVersion
from apps.characters.tests.factories import character_publish
from apps.characters.tests.test_content import FULL
from apps.core.errors import ValidationFailed


def test_a_draft_save_creates_the_character_without_a_version_and_stores_its_readiness(owner):
    character = services.character_draft_save(
        app=owner.api_key.app, data={"slug": "luna", "display_name": "Luna", **FULL}
    )
    character.refresh_from_db()
    assert character.current_version is None and not CharacterVersion.objects.exists()
    assert character.draft["greeting"] == "hi" and character.draft["locale"] == "en-US"
    assert (character.readiness_status, character.readiness_score) == ("ready", 100)


def test_a_draft_save_keeps_the_slug_and_updates_readiness(owner):
    character = character_publish(owner.api_key.app, slug="luna", **FULL).character
    assert character.readiness_status == "ready"
    services.character_draft_save(
        app=owner.api_key.app, character=character, data={"slug": "other", "display_name": "Luna 2"}
    )
    character.refresh_from_db()
    assert (character.slug, character.draft["slug"], character.display_name) == ("luna", "luna", "Luna 2")
    assert (character.readiness_status, character.readiness_score) == ("needs_work", 0)
    assert character.current_version.version_number == 1  # the draft is not published


def test_an_invalid_draft_writes_nothing(owner):
    character = character_publish(owner.api_key.app, slug="luna").character
    before = Character.objects.values().get(pk=character.pk)
    with pytest.raises(ValidationFailed) as raised:
        services.character_draft_save(
            app=owner.api_key.app,
            character=character,
            data={"display_name": "x", "behavioral_thresholds": {"daily_image_cap": 500}},
        )
    assert list(raised.value.fields) == ["behavioral_thresholds.daily_image_cap"]
    assert Character.objects.values().get(pk=character.pk) == before
    with pytest.raises(ValidationFailed) as taken:
        services.character_draft_save(app=owner.api_key.app, data={"slug": "luna", "display_name": "Again"})
    assert taken.value.fields == {"slug": ["A character with this slug already exists in this app."]}
    assert Character.objects.count() == 1


def test_publish_and_patch_store_the_readiness_of_the_new_content(api, owner):
    api.post("/v1/characters", {"slug": "luna", "display_name": "Luna", **FULL}, format="json")
    character = Character.objects.get(slug="luna")
    assert (character.readiness_status, character.readiness_score) == ("ready", 100)
    api.patch("/v1/characters/luna", {"greeting": None, "profile": {"mystery": 1}}, format="json")
    character.refresh_from_db()
    assert character.readiness_status == "needs_work" and character.readiness_score == 92


def test_the_api_publish_costs_the_same_statements_with_who_published(api, owner):
    """Recording the key's prefix adds no statement: the key is already loaded by authentication."""
    api.post("/v1/characters", {"slug": "luna", "display_name": "Luna"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/v1/characters", {"slug": "luna", "display_name": "Luna", "greeting": "hi"}, format="json")
    assert response.status_code == 200 or response.status_code == 201
    assert len(queries) == 7, [query["sql"] for query in queries.captured_queries]


def test_republish_makes_an_old_version_the_next_one(owner, admin_user):
    first = character_publish(owner.api_key.app, slug="luna", greeting="one")
    character = character_publish(owner.api_key.app, slug="luna", greeting="two").character

    result = services.character_version_republish(
        character=character, version_id=first.version.pk, published_by=admin_user
    )

    assert result.created_version and result.version.version_number == 3
    assert result.version.content == first.version.content
    assert (result.version.published_by, result.version.published_via) == (admin_user, "admin")
    character.refresh_from_db()
    assert character.current_version == result.version and character.draft["greeting"] == "one"


def test_republish_of_another_characters_version_is_not_found_and_writes_nothing(owner):
    luna = character_publish(owner.api_key.app, slug="luna").character
    sol = character_publish(owner.api_key.app, slug="sol", greeting="x").version
    with pytest.raises(CharacterVersionNotFound):
        services.character_version_republish(character=luna, version_id=sol.pk)
    assert CharacterVersion.objects.count() == 2


def test_the_migration_backfills_readiness(owner):
    character = character_publish(owner.api_key.app, slug="luna", **FULL).character
    Character.objects.filter(pk=character.pk).update(readiness_status="needs_work", readiness_score=0)
    migration = importlib.import_module("apps.characters.migrations.0003_readiness_status_and_publisher")

    migration.readiness_backfill(django_apps, None)

    character.refresh_from_db()
    assert (character.readiness_status, character.readiness_score) == ("ready", 100)


def test_alternate_greetings_are_accepted_up_to_20(api):
    body = {"slug": "luna", "display_name": "Luna", "alternate_greetings": ["hi", "hey"]}
    assert api.post("/v1/characters", body, format="json").status_code == 201
    assert Character.objects.get(slug="luna").current_version.content["alternate_greetings"] == ["hi", "hey"]
    too_many = api.post("/v1/characters", {**body, "alternate_greetings": ["x"] * 21}, format="json")
    assert too_many.status_code == 422
    assert (
        "alternate_greetings: Ensure this field has no more than 20 elements." in too_many.json()["detail"]["message"]
    )


def test_the_openapi_schema_documents_alternate_greetings_with_its_help_text(api):
    schemas = api.get("/v1/openapi.json").json()["components"]["schemas"]
    field = schemas["CharacterInputRequest"]["properties"]["alternate_greetings"]
    assert field["type"] == "array" and field["maxItems"] == 20 and field["items"]["maxLength"] == 4000
    assert field["description"].startswith("Other opening messages")
    assert schemas["PatchedCharacterPatchInputRequest"]["properties"]["alternate_greetings"]["maxItems"] == 20
    assert schemas["BehavioralThresholdsRequest"]["properties"]["daily_image_cap"]["description"] == (
        "At most this many images a day per conversation."
    )
