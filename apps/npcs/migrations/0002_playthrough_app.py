import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def playthroughs_to_npc_owners(apps, schema_editor):
    """Every existing playthrough starts as the NPC owner's: right for private NPCs (only their owner plays
    them) and for rows started without a session. ``conversations`` 0010 then hands public NPCs' playthroughs
    that other apps played to those apps, from their sessions (npcs knows nothing of sessions)."""
    NPC = apps.get_model("npcs", "NPC")
    Playthrough = apps.get_model("npcs", "Playthrough")
    Playthrough.objects.update(app_id=Subquery(NPC.objects.filter(pk=OuterRef("npc_id")).values("app_id")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_memory_purpose"),
        ("npcs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="playthrough",
            name="app",
            field=models.ForeignKey(
                null=True,
                help_text="The app whose player this is.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="playthroughs",
                to="accounts.app",
            ),
        ),
        migrations.RunPython(playthroughs_to_npc_owners, migrations.RunPython.noop),
    ]
