"""A writer in a real browser: logs into the admin, opens an NPC machine, sees it drawn, dry-runs two lines and
publishes it, after which the SDK route that was refused starts a playthrough.

Headless Chromium (``tests/browser.py``) talks to the web process of a live stack, the way a writer's browser
talks to a deployment: the diagram is drawn client-side by the vendored Mermaid build, served by the web
process (in production mode from what ``collectstatic`` collected, as the release step does). The dry run's
lines are decided by matchers, so no model is called; no worker is started (nothing here enqueues work).
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from apps.accounts import services as accounts_services
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from apps.npcs.models import Machine
from tests.browser import browser, page_submit, page_wait  # noqa: F401  (fixture)
from tests.live import PRODUCTION, LiveStack, live_stack_started

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "writer-password-1"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """A web process only. In production mode it serves static files from STATIC_ROOT (our VAR_DIR, which the
    stack shares), so collect them first, as the release step does."""
    if PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    with django_db_blocker.unblock(), live_stack_started(workers=0) as started:
        yield started


def _wait(driver, script: str, what: str):
    return page_wait(driver, script, what)


def test_a_writer_sees_the_diagram_dry_runs_and_publishes(stack, browser):  # noqa: F811
    # given an NPC whose gate machine is a draft, with a state name that Mermaid's syntax would choke on
    app = accounts_services.app_create(name="writers' app")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    body = scenario_body()
    body["machines"][0]["is_published"] = False
    body["machines"][0]["states"][1]["name"] = 'Trust "maybe" [1]'
    npc = npcs_services.npc_save(app=app, body=body)
    gate = Machine.objects.get(npc=npc, key="gate")
    writer = get_user_model().objects.create_superuser("writer", "writer@example.com")
    # The suite hashes with MD5 for speed; the server accepts only the production hashers, so hash for it (few
    # iterations: the count travels in the hash).
    hasher = PBKDF2PasswordHasher()
    writer.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    writer.save(update_fields=["password"])
    player = {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"}
    init_path = f"/npc/api/v1/sdk/chat/{npc.id}/init-session?machine_id={gate.id}"
    foil_key = {"X-API-Key": key}  # the SDK's header
    assert stack.client().post(init_path, player, headers=foil_key).status == 403  # a draft is not playable

    # when the writer logs in and opens the machine
    change_path = f"/admin/npcs/machine/{gate.id}/change/"
    browser.get(f"{stack.base_url}/admin/login/?next={change_path}")
    browser.find_element("id", "id_username").send_keys("writer")
    browser.find_element("id", "id_password").send_keys(PASSWORD)
    page_submit(browser, "input[type=submit]")
    assert browser.current_url.endswith(change_path), browser.current_url

    # then the machine is drawn, client-side, with its states' names
    drawn = _wait(browser, "return document.body.dataset.npcDiagram", "the diagram to be drawn")
    assert drawn == "drawn", drawn
    svg_text = browser.execute_script("return document.querySelector('#npc-diagram svg').textContent")
    for label in ("Start (start)", 'Trust "maybe" [1] (trust)', "won", "lost", "pass +2 ⚙", "redirect"):
        assert label in svg_text, (label, svg_text)

    # when they dry-run two lines
    browser.find_element("id", "id_lines").send_keys("hello there\nthe password is swordfish")
    page_submit(browser, "#npc-dry-run")

    # then the path table shows each step and what decided it, and nothing was written
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#npc-dry-run-result tbody tr')].map(r => r.innerText)"
    )
    assert len(rows) == 2, rows
    assert "start" in rows[0] and "pass" in rows[0] and "start -> trust" in rows[0]
    assert "matcher: keywords: hello, greetings" in rows[0]
    assert "trust -> won" in rows[1] and "ACCEPT" in rows[1] and "7" in rows[1]
    assert "0 model calls" in browser.find_element("css selector", "#content-main h2").text
    assert not gate.playthroughs.exists()
    _wait(browser, "return document.body.dataset.npcDiagram === 'drawn'", "the diagram with the path")

    # when they go back to the machine and publish it
    browser.find_element("link text", "Back to the machine").click()
    _wait(browser, "return document.getElementById('npc-publish')", "the Publish button")
    page_submit(browser, "#npc-publish")

    # then the admin says so, the machine is published, and the SDK route starts a playthrough
    message = browser.find_element("css selector", ".messagelist").text
    assert "Machine 'gate' published" in message, message
    assert browser.find_element("id", "npc-unpublish")
    assert Machine.objects.get(pk=gate.pk).is_published
    assert stack.client().post(init_path, player, headers=foil_key).status == 200
    assert settings.STATIC_URL in browser.execute_script(
        "return [...document.scripts].map(s => s.src).find(s => s.includes('mermaid.min.js'))"
    )
