from django.db import migrations
from django.db.models import F


def playthroughs_to_their_players_apps(apps, schema_editor):
    """Give each public NPC's playthrough that another app played to the apps that played it.

    Until playthroughs carried an app, another app's player with the owner's player's id shared the owner's
    row: its init-session restarted the row and its messages moved it. npcs 0002 made every row the NPC
    owner's; here a row with sessions of other apps goes to the app of its newest session (the last
    init-session or reset, which the row's state started from), and every other app that has sessions on it
    gets a copy of the row as it stands, with its own sessions moved to the copy: no app loses its player's
    progress or log, and from now on each moves alone.
    """
    Session = apps.get_model("conversations", "Session")
    Playthrough = apps.get_model("npcs", "Playthrough")
    shared = set(
        Session.objects.filter(playthrough__isnull=False)
        .exclude(app_id=F("playthrough__app_id"))
        .values_list("playthrough_id", flat=True)
    )
    skipped = ("id", "app", "created_at", "updated_at")
    copied = [field.attname for field in Playthrough._meta.concrete_fields if field.name not in skipped]
    for playthrough in Playthrough.objects.filter(pk__in=shared).order_by("pk"):
        sessions = Session.objects.filter(playthrough=playthrough).order_by("-created_at", "-id")
        players = list(dict.fromkeys(sessions.values_list("app_id", flat=True)))
        if players[0] != playthrough.app_id:
            Playthrough.objects.filter(pk=playthrough.pk).update(app_id=players[0])
        for app_id in players[1:]:
            copy = Playthrough.objects.create(app_id=app_id, **{name: getattr(playthrough, name) for name in copied})
            sessions.filter(app_id=app_id).update(playthrough=copy)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0009_memory_persona_episodes"),
        ("npcs", "0003_playthrough_app_required"),
    ]

    operations = [
        migrations.RunPython(playthroughs_to_their_players_apps, migrations.RunPython.noop),
    ]
