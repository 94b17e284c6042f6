# Apart from 0002: PostgreSQL refuses to alter a table whose rows the same transaction updated while its new
# foreign key's deferred checks are pending.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("npcs", "0002_playthrough_app"),
    ]

    operations = [
        migrations.AlterField(
            model_name="playthrough",
            name="app",
            field=models.ForeignKey(
                help_text="The app whose player this is.",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="playthroughs",
                to="accounts.app",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="playthrough",
            name="npc_playthrough_one_per_player",
        ),
        migrations.RemoveIndex(
            model_name="playthrough",
            name="npc_playthrough_player",
        ),
        migrations.AddConstraint(
            model_name="playthrough",
            constraint=models.UniqueConstraint(
                fields=("app", "player_session_id", "npc", "machine"), name="npc_playthrough_one_per_player"
            ),
        ),
    ]
