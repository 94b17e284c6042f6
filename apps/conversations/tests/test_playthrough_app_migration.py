"""The data migrations that gave playthroughs their app (npcs 0002, conversations 0010), run over rows as they
were before: one row per (NPC, machine, player), shared by every app that played a public NPC under that player
id. A row goes to the app of its newest session; every other app with sessions on it gets a copy, with its
sessions moved to it; a row nobody logged stays its NPC's owner's.

The functions run on today's models (what they touch has not changed since); the schema steps run whenever a
test database is made. Migrating a database back and forth instead costs seconds of migration states.
"""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps

from apps.conversations import services as conversations_services
from apps.conversations.models import Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from apps.npcs.models import Playthrough

pytestmark = pytest.mark.django_db

to_npc_owners = importlib.import_module("apps.npcs.migrations.0002_playthrough_app").playthroughs_to_npc_owners
to_players_apps = importlib.import_module(
    "apps.conversations.migrations.0010_playthroughs_of_their_players_apps"
).playthroughs_to_their_players_apps


def test_shared_rows_are_split_between_the_apps_that_played_them(owner, other):
    mine, theirs = owner.api_key.app, other.api_key.app
    public = npcs_services.npc_save(app=mine, body=scenario_body(name="Host", is_public=True))
    private = npcs_services.npc_save(app=mine, body=scenario_body(name="Keeper"))
    shared = conversations_services.npc_session_start(
        app=mine, npc_id=public.id, player_session_id="p1", player_name="Ada", player_gender=""
    )
    lonely = conversations_services.npc_session_start(
        app=mine, npc_id=private.id, player_session_id="p1", player_name="Ada", player_gender=""
    ).playthrough
    unlogged = npcs_services.playthrough_start(app=mine, npc_id=public.id, player_session_id="p2")
    # What the old code did: B's init-session on A's public NPC restarted A's row and logged B's session on it.
    shared.playthrough.score = 7
    shared.playthrough.save()
    newest = Session.objects.create(
        app=theirs,
        character=public.character,
        character_version=public.character.current_version,
        external_user_ref="p1",
        playthrough=shared.playthrough,
    )
    Session.objects.filter(pk=shared.session.pk).update(created_at=newest.created_at - timedelta(minutes=1))

    Playthrough.objects.filter(pk=unlogged.pk).update(app=theirs)  # npcs 0002 fills every row, whatever it held
    to_npc_owners(django_apps, None)
    to_players_apps(django_apps, None)

    kept = Playthrough.objects.get(pk=shared.playthrough.pk)
    assert (kept.app_id, kept.score) == (theirs.id, 7)  # the newest session's app: its restart began this state
    copy = Playthrough.objects.get(app=mine, npc=public, player_session_id="p1")
    assert copy.pk != kept.pk
    fields = ("machine_id", "current_state_id", "score", "outcome", "player_name", "variables", "started_at")
    assert [getattr(copy, name) for name in fields] == [getattr(kept, name) for name in fields]
    assert Session.objects.get(pk=shared.session.pk).playthrough_id == copy.pk
    assert Session.objects.get(pk=newest.pk).playthrough_id == kept.pk
    assert Playthrough.objects.get(pk=lonely.pk).app_id == mine.id
    assert Playthrough.objects.get(pk=unlogged.pk).app_id == mine.id
    assert Playthrough.objects.count() == 4
