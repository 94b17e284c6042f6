"""Memory at run time: what a session's older messages leave in the user's memory, and what later prompts get.

Turns run inline (the conftest's executor) with their on-commit callbacks, so a turn that finds its window too
long queues the summary and it runs right after, as a worker would run it."""

import pytest

from apps.accounts.models import UsageRecord
from apps.conversations import services
from apps.conversations.models import Event, Memory, MemoryFact, Run, Session
from apps.conversations.tests.factories import session_start
from apps.llm import selectors as llm_selectors

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_window(settings):
    """Summaries after a few messages: the newest two stay verbatim."""
    settings.MEMORY_RECENT_MESSAGES = 2
    settings.MEMORY_SUMMARY_TRIGGER_TOKENS = 30
    settings.EMOTION_APPRAISER = "lexicon"


def _say(app, session, text: str, capture) -> Run:
    with capture(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text=text)
    run = Run.objects.get(pk=sent.run_ref)
    assert run.status == "succeeded", run.error_message
    return run


def test_a_fact_said_early_is_extracted_in_the_background_and_recalled_when_the_message_asks(
    owner, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app)
    _say(app, session, "My sister is called Mara and she paints.", django_capture_on_commit_callbacks)
    for text in ("The weather is grey today.", "I made soup for dinner tonight.", "Work was long and boring."):
        _say(app, session, text, django_capture_on_commit_callbacks)
    memory = Memory.objects.get(pk=Session.objects.get(pk=session.pk).memory_id)
    fact = MemoryFact.objects.get(memory=memory, valid_to__isnull=True, key="user.sister.name")
    assert fact.text == "The user's sister is called Mara."
    assert (fact.source_session_id, fact.origin) == (session.id, "extracted")
    said = Event.objects.get(session=session, role="user", payload__text="My sister is called Mara and she paints.")
    assert fact.source_cursor == said.cursor
    assert "User: My sister is called Mara and she paints." in memory.summary
    assert memory.fact_count == 1
    summarised = Session.objects.get(pk=session.pk).summarised_through
    assert summarised > 0

    run = _say(app, session, "Do you remember what my sister is called?", django_capture_on_commit_callbacks)
    context = run.context
    assert [fact["text"] for fact in context["facts"]] == ["The user's sister is called Mara."]
    reply = Event.objects.get(run=run, event_type="message.created")
    assert "your sister is called Mara" in reply.payload["text"]  # the scripted model tells it back
    assert context["facts"][0]["id"] == fact.id and context["facts"][0]["score"] > 0
    sources = [part["source"] for part in context["parts"]]
    assert sources[0] == "persona" and "fact" in sources and "summary" in sources
    assert context["summary"]["text"].startswith("User: My sister is called Mara and she paints.")
    # the window starts after what the summary folded in
    history = [part for part in context["parts"] if part["source"] == "history"]
    assert "My sister is called Mara and she paints." not in [part["text"] for part in history]
    assert context["budget"]["used"] <= context["budget"]["limit"]
    assert context["tokenizer"] == "cl100k_base"
    # a message about something else recalls no fact
    run = _say(app, session, "Anyway, what are you cooking?", django_capture_on_commit_callbacks)
    assert run.context["facts"] == []


def test_the_model_call_count_of_a_turn_stays_one_while_summaries_run_beside_it(
    owner, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app)
    runs = [
        _say(app, session, f"I live in Lisbon and this is message {index}.", django_capture_on_commit_callbacks)
        for index in range(6)
    ]
    assert [run.model_calls for run in runs] == [1] * 6
    # the scripted model summarises offline: no summary call was metered
    assert not UsageRecord.objects.filter(purpose="memory_summary").exists()
    assert MemoryFact.objects.filter(key="user.home", valid_to__isnull=True).count() == 1


def test_memory_is_one_per_character_and_end_user_across_sessions_and_never_another_users_or_apps(
    owner, other, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    first = session_start(app, external_user_ref="ana")
    for text in ("My name is Ana.", "It rained.", "I baked bread.", "Long day."):
        _say(app, first, text, django_capture_on_commit_callbacks)
    second = services.session_create(app=app, character_slug="luna", external_user_ref="ana")
    assert second.memory_id == first.memory_id
    run = _say(app, second, "Do you remember my name?", django_capture_on_commit_callbacks)
    assert [fact["text"] for fact in run.context["facts"]] == ["The user's name is Ana."]

    stranger = services.session_create(app=app, character_slug="luna", external_user_ref="bea")
    assert stranger.memory_id != first.memory_id
    run = _say(app, stranger, "Do you remember my name?", django_capture_on_commit_callbacks)
    assert run.context["facts"] == [] and run.context["summary"] is None

    other_app = other.api_key.app
    elsewhere = session_start(other_app, external_user_ref="ana")
    assert elsewhere.memory_id not in (first.memory_id, stranger.memory_id)
    run = _say(other_app, elsewhere, "Do you remember my name?", django_capture_on_commit_callbacks)
    assert run.context["facts"] == []


def test_pinned_blocks_lead_the_memory_in_the_prompt(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    Memory.objects.filter(pk=session.memory_id).update(
        blocks=[{"label": "preferences", "value": "Prefers short answers.", "limit": 200}]
    )
    run = _say(app, session, "hello", django_capture_on_commit_callbacks)
    assert run.context["blocks"] == [
        {
            "label": "preferences",
            "value": "Prefers short answers.",
            "tokens": llm_selectors.tokens_count("Prefers short answers."),
        }
    ]


def test_a_small_budget_trims_the_oldest_messages_first_and_says_so(
    owner, django_capture_on_commit_callbacks, settings
):
    settings.MEMORY_SUMMARY_TRIGGER_TOKENS = 100_000  # no summary: the window alone grows
    settings.MEMORY_RECENT_MESSAGES = 100
    app = owner.api_key.app
    session = session_start(app)
    for index in range(8):
        _say(app, session, f"Message {index}: " + "words " * 30, django_capture_on_commit_callbacks)
    settings.LLM_PROMPT_TOKENS = 400
    settings.LLM_TOKEN_MARGIN = 0.0
    run = _say(app, session, "And the last one.", django_capture_on_commit_callbacks)
    context = run.context
    assert context["budget"]["limit"] == 400 and context["budget"]["used"] <= 400
    trimmed = [part for part in context["trimmed"] if part["source"] == "history"]
    kept = [part["text"] for part in context["parts"] if part["source"] == "history"]
    assert trimmed and kept[-1] == "And the last one."
    assert trimmed[0]["text"].startswith("Hi") or trimmed[0]["text"].startswith("Message 0")  # the oldest first
    assert run.prompt_tokens > 0


def test_the_summary_folds_by_the_model_in_one_metered_json_call_when_the_model_is_not_scripted(
    owner, django_capture_on_commit_callbacks, fake_llm, settings
):
    settings.MEMORY_EXTRACTOR = "auto"
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.queue_json(
        {
            "summary": "Ana told Luna about her sister Mara.",
            "facts": [
                {"op": "add", "text": "Ana's sister is Mara."},
                {"op": "update", "id": "fact_unknown", "text": "dropped: no such fact"},
                {"op": "nonsense"},
            ],
        }
    )
    for text in ("My sister is Mara.", "She paints.", "We grew up in Faro.", "Busy week."):
        _say(app, session, text, django_capture_on_commit_callbacks)
    memory = Memory.objects.get(pk=session.memory_id)
    assert memory.summary == "Ana told Luna about her sister Mara."
    assert list(MemoryFact.objects.filter(memory=memory).values_list("text", "key", flat=False)) == [
        ("Ana's sister is Mara.", "")
    ]
    summary_requests = [r for r in fake_llm.chat_requests if "long-term memory" in r.body["messages"][0]["content"]]
    assert len(summary_requests) == 1
    assert summary_requests[0].body["response_format"] == {"type": "json_object"}
    record = UsageRecord.objects.get(purpose="memory_summary")
    assert (record.status, record.session_id, record.external_user_ref) == ("settled", session.id, "user_1")
    assert record.input_tokens > 0


def test_an_npc_remembers_a_player_from_an_earlier_scenario(owner, django_capture_on_commit_callbacks, monkeypatch):
    """Foil's relational memory: a completed machine folds the playthrough into the player's memory with the NPC's
    character, and the NPC's replies in the next machine are prompted with it."""
    from apps.conversations.tests.npc_scenario import scenario_body
    from apps.llm import services as llm_services
    from apps.npcs import services as npcs_services

    app = owner.api_key.app
    npc = npcs_services.npc_save(app=app, body=scenario_body())
    first = services.npc_session_start(
        app=app, npc_id=npc.id, player_session_id="player-9", player_name="Ana", player_gender=""
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.npc_message_send(app=app, npc_id=npc.id, player_session_id="player-9", text="hello, my name is Ana")
        turn = services.npc_message_send(
            app=app, npc_id=npc.id, player_session_id="player-9", text="the password is swordfish"
        )
    assert turn.step.result.machine_completed
    memory = Memory.objects.get(pk=first.session.memory_id)
    assert list(memory.facts.values_list("text", flat=True)) == ["The user's name is Ana."]
    folded = Session.objects.get(pk=first.session.id)
    last_message = Event.objects.filter(session=folded, event_type="message.created").order_by("-cursor").first()
    assert folded.summarised_through == last_message.cursor  # the final fold keeps no window back

    prompts: list[list] = []
    chat = llm_services.chat

    def recording_chat(**kwargs):
        prompts.append(kwargs["messages"])
        return chat(**kwargs)

    monkeypatch.setattr(llm_services, "chat", recording_chat)
    vault = services.npc_session_start(
        app=app,
        npc_id=npc.id,
        player_session_id="player-9",
        player_name="Ana",
        player_gender="",
        machine_id=turn.unlocked[0].machine_id,
    )
    assert vault.session.memory_id == memory.id and vault.session.id != first.session.id
    services.npc_message_send(
        app=app,
        npc_id=npc.id,
        player_session_id="player-9",
        text="do you remember my name?",
        machine_id=vault.playthrough.machine_id,
    )
    system = "\n".join(message.content for message in prompts[-1] if message.role == "system")
    assert "The user's name is Ana." in system


def test_a_model_that_answers_prose_to_the_summary_is_paid_and_the_fold_goes_offline(
    owner, django_capture_on_commit_callbacks, fake_llm, settings
):
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("not_json")
    for text in ("My name is Ana.", "It rained.", "I baked bread.", "Long day."):
        _say(app, session, text, django_capture_on_commit_callbacks)
    memory = Memory.objects.get(pk=session.memory_id)
    assert list(memory.facts.values_list("text", flat=True)) == ["The user's name is Ana."]
    assert memory.summary.startswith("User: My name is Ana.")
    assert Session.objects.get(pk=session.pk).summarised_through > 0  # the fold moved on
    assert UsageRecord.objects.get(purpose="memory_summary").status == "settled"


def test_erased_memory_is_gone_from_the_next_prompt_and_is_not_folded_back(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    for text in ("My sister is called Mara.", "It rained.", "I baked bread.", "Long day."):
        _say(app, session, text, django_capture_on_commit_callbacks)
    assert MemoryFact.objects.filter(memory_id=session.memory_id).exists()
    services.session_memory_erase(app=app, session_id=session.id)
    run = _say(app, session, "Do you remember my sister's name?", django_capture_on_commit_callbacks)
    assert run.context["facts"] == [] and run.context["summary"] is None
    texts = " ".join(part["text"] for part in run.context["parts"])
    assert "Mara" not in texts  # nor in the window: the erase moved the summarised cursor past it
    reply = Event.objects.get(run=run, event_type="message.created")
    assert "Mara" not in reply.payload["text"]
