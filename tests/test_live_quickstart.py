"""The LoreOS quickstart, as an integrator runs it: real HTTP against a running server and a real worker.

The first test runs the shell blocks of docs/integrators/quickstart.md as they are written, so the page
cannot drift from the server; the second makes the same calls step by step and checks every answer.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.live import live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

QUICKSTART = Path(settings.BASE_DIR) / "docs" / "integrators" / "quickstart.md"


def quickstart_script() -> str:
    """The page's ``sh`` blocks in order, as one script."""
    blocks = re.findall(r"^```sh\n(.*?)^```", QUICKSTART.read_text(), flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5, "the quickstart lost its shell blocks"
    return "\n".join(blocks)


def test_the_quickstart_page_pastes_into_a_plain_shell(live_stack):  # noqa: F811
    script = quickstart_script()
    assert "uuidgen" not in script and "jq " not in script  # tools a fresh machine may lack
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "BASE": live_stack.base_url}

    done = subprocess.run(
        ["bash", "-c", "set -eu\n" + script], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, (done.stdout, done.stderr, live_stack.logs())
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    key, character, session, cursor, reply = lines[0], lines[1], lines[2], lines[3], lines[-1]
    assert key.startswith("drm_")
    assert '"slug":"luna"' in character and '"version_number":1' in character
    assert session.startswith("sess_")
    # the reply the script printed is the character's reply in the session's event log
    log = live_stack.client(key).events(session)
    [answer] = [
        e
        for e in log
        if e["event_type"] == "message.created" and e["role"] == "character" and e["cursor"] > int(cursor)
    ]
    assert reply == "Luna: " + " | ".join(answer["payload"]["bubbles"]) and answer["payload"]["text"]


def test_a_4xx_is_written_to_the_server_log_once(live_stack):  # noqa: F811
    path = f"/v1/sessions/sess_missing{time.monotonic_ns()}"
    issued = live_stack.client().post("/v1/demo/sandbox-key")
    assert live_stack.client(issued.data["api_key"]).get(path).status == 404
    line = f"Not Found: {path}"
    live_stack.wait_for(lambda: line in live_stack.logs(), what="the 404 in the server log")
    time.sleep(0.5)  # a second copy would be written right after the first
    assert live_stack.logs().count(line) == 1


def test_quickstart_over_http_gets_a_character_reply(live_stack):  # noqa: F811
    # given a key from the demo sandbox endpoint (no auth needed)
    issued = live_stack.client().post("/v1/demo/sandbox-key")
    assert issued.status == 201, issued.body
    client = live_stack.client(issued.data["api_key"])

    # 1. create a character with only the two required fields
    created = client.post("/v1/characters", {"slug": "luna", "display_name": "Luna"})
    assert created.status == 201, created.body
    assert created.body["schema_version"]
    assert created.data["character_id"].startswith("char_")
    assert {k: created.data[k] for k in ("slug", "display_name", "status", "version_number")} == {
        "slug": "luna",
        "display_name": "Luna",
        "status": "published",
        "version_number": 1,
    }
    assert any("POST /v1/sessions" in action["command"] for action in created.body["next_actions"])

    # 2. start a session for one end-user
    started = client.post("/v1/sessions", {"character": "luna", "external_user_ref": "user_123"})
    assert started.status == 201, started.body
    session_id = started.data["session_id"]
    assert session_id.startswith("sess_")
    assert (started.data["character"], started.data["external_user_ref"]) == ("luna", "user_123")

    # 3. send a message: accepted asynchronously
    sent = client.post(f"/v1/sessions/{session_id}/messages", {"text": "hey, what are you up to?"})
    assert sent.status == 202, sent.body
    assert sent.data["accepted"] is True and sent.data["sent_turn_index"] == 1
    cursor = sent.data["cursor"]
    assert any(f"since={cursor}" in action["command"] for action in sent.body["next_actions"])

    # 4. poll the events until the worker's reply lands after the user-message cursor
    def reply():
        page = client.get(f"/v1/sessions/{session_id}/events?since={cursor}")
        assert page.status == 200, page.body
        found = [e for e in page.data["events"] if e["event_type"] == "message.created" and e["role"] == "character"]
        return found and (found[0], page)

    event, page = live_stack.wait_for(reply, what="the character's reply event")
    assert event["cursor"] > cursor
    assert event["payload"]["text"] and event["payload"]["bubbles"]
    assert " ".join(event["payload"]["bubbles"]) == event["payload"]["text"]
    assert page.data["session_id"] == session_id and page.data["next_cursor"] == page.data["events"][-1]["cursor"]
    assert page.body["next_actions"]

    # and the whole log reads in order: user message, generating, reply, emotion, with gap-free cursors
    log = client.events(session_id)
    assert [(e["event_type"], e["role"]) for e in log] == [
        ("message.created", "user"),
        ("run.status", None),
        ("message.created", "character"),
        ("emotion.updated", "character"),
    ]
    assert [e["cursor"] for e in log] == [cursor, cursor + 1, cursor + 2, cursor + 3]
    # and the turn is listed with its status and model calls
    runs = client.get(f"/v1/sessions/{session_id}/runs")
    assert runs.status == 200, runs.body
    [run] = runs.data["runs"]
    assert (run["run_ref"], run["status"], run["attempts"], run["model_calls"]) == (
        sent.data["run_ref"],
        "succeeded",
        1,
        1,
    )
