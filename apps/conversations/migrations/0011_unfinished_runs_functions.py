"""Two PostgreSQL functions that count a session's and an app's unfinished runs with a snapshot of their own.

``message_send`` counts them in the RETURNING of the UPDATE that locks the session. A subquery there reads the
statement's snapshot, taken before the UPDATE waited for the lock, so a send queued behind another would not see
the run that send just committed. A VOLATILE function takes a fresh snapshot for each query it runs, after the
lock is held: sends on one session are then counted exactly. SQLite runs its write transactions one at a time
(``transaction_mode`` IMMEDIATE) and uses plain subqueries.
"""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION conversations_session_unfinished_runs(p_session_id varchar, p_cap integer)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT count(*) FROM (
        SELECT 1 FROM conversations_run
        WHERE session_id = p_session_id AND status IN ('queued', 'running') LIMIT p_cap
    ) AS unfinished);
END $$;

CREATE OR REPLACE FUNCTION conversations_app_unfinished_runs(p_app_id varchar, p_cap integer)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT count(*) FROM (
        SELECT 1 FROM conversations_run JOIN conversations_session ON conversations_session.id = conversations_run.session_id
        WHERE conversations_session.app_id = p_app_id AND conversations_run.status IN ('queued', 'running') LIMIT p_cap
    ) AS unfinished);
END $$;
"""

DROP = """
DROP FUNCTION IF EXISTS conversations_session_unfinished_runs(varchar, integer);
DROP FUNCTION IF EXISTS conversations_app_unfinished_runs(varchar, integer);
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("conversations", "0010_run_session_unfinished")]

    operations = [migrations.RunPython(_on_postgresql(FUNCTIONS), _on_postgresql(DROP))]
