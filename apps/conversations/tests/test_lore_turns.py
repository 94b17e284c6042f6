"""Lorebooks in the turn: the entries the recent messages activate go into the prompt, each run records which
fired and why, and sticky entries stay on for the next turns (their state kept on the session)."""

import pytest

from apps.characters import services as characters_services
from apps.conversations import services
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.factories import session_start

pytestmark = pytest.mark.django_db

BOOK = {
    "name": "Harbour town",
    "scan_depth": 4,
    "token_budget": 400,
    "entries": [
        {
            "keys": ["lighthouse"],
            "content": "The old lighthouse has been dark since the storm of 1998.",
            "insertion_order": 10,
            "position": "after_char",
            "extensions": {"sticky": 2},
        },
        {"keys": ["/\\bferry\\b/i"], "content": "The ferry leaves at dawn.", "insertion_order": 5},
        {"keys": ["always"], "constant": True, "content": "It always smells of salt here.", "insertion_order": 1},
        {"keys": ["dragon"], "content": "There are no dragons.", "enabled": False},
    ],
}


@pytest.fixture
def say(django_capture_on_commit_callbacks):
    def send(app, session, text: str) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            sent = services.message_send(app=app, session_id=session.id, text=text)
        run = Run.objects.get(pk=sent.run_ref)
        assert run.status == "succeeded", run.error_message
        return run

    return send


def test_a_key_in_the_message_brings_its_entry_into_the_prompt_and_the_context_says_why(owner, settings, say):
    settings.EMOTION_APPRAISER = "lexicon"
    app = owner.api_key.app
    session = session_start(app)
    characters_services.lorebook_own_put(app=app, slug="luna", data=BOOK)

    run = say(app, session, "Is the lighthouse still standing? And no dragon talk.")
    lore = {entry["content"]: entry for entry in run.context["lore"]}
    assert set(lore) == {
        "The old lighthouse has been dark since the storm of 1998.",
        "It always smells of salt here.",
    }
    lighthouse = lore["The old lighthouse has been dark since the storm of 1998."]
    said = Event.objects.get(run__isnull=True, session=session, role="user", payload__text__startswith="Is the")
    assert (lighthouse["reason"], lighthouse["key"], lighthouse["cursor"]) == ("key", "lighthouse", said.cursor)
    assert "lighthouse" in lighthouse["excerpt"] and lighthouse["in_prompt"] and lighthouse["book"] == "Harbour town"
    assert lore["It always smells of salt here."]["reason"] == "constant"
    prompt_lore = [part["text"] for part in run.context["parts"] if part["source"] == "lore"]
    assert sorted(prompt_lore) == sorted(lore)
    assert Session.objects.get(pk=session.pk).lore_state  # the sticky entry's counters

    # the next turn names no key: the sticky lighthouse entry stays, the ferry does not fire
    run = say(app, session, "Tell me about your day.")
    reasons = {entry["content"]: entry["reason"] for entry in run.context["lore"]}
    assert reasons["The old lighthouse has been dark since the storm of 1998."] == "sticky"
    assert "The ferry leaves at dawn." not in reasons

    run = say(app, session, "When does the Ferry leave?")
    reasons = {entry["content"]: entry["reason"] for entry in run.context["lore"]}
    assert reasons["The ferry leaves at dawn."] == "key"


def test_a_character_without_a_book_records_no_lore_and_keeps_no_state(owner, settings, say):
    settings.EMOTION_APPRAISER = "lexicon"
    app = owner.api_key.app
    session = session_start(app)
    run = say(app, session, "the lighthouse?")
    assert run.context["lore"] == []
    assert Session.objects.get(pk=session.pk).lore_state == {}
