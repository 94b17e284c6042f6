"""The NPC turn: matchers first, the model otherwise (with the fallback offline), the step and the reply
logged as events of the playthrough's session, and at most two model calls per turn."""

import pytest

from apps.accounts.models import UsageRecord
from apps.conversations import selectors, services
from apps.conversations.models import Event
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core.errors import ApplicationError
from apps.llm import services as llm_services
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services
from apps.npcs.errors import PlaythroughFinished, PlaythroughMoved
from apps.npcs.models import Transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch):
    """The model calls made, by kind."""
    made: list[str] = []
    chat, chat_json = llm_services.chat, llm_services.chat_json

    def counted_chat(**kwargs):
        made.append("reply")
        return chat(**kwargs)

    def counted_json(**kwargs):
        made.append("evaluation")
        return chat_json(**kwargs)

    monkeypatch.setattr(llm_services, "chat", counted_chat)
    monkeypatch.setattr(llm_services, "chat_json", counted_json)
    return made


@pytest.fixture
def started(owner):
    npc = npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())
    opened = services.npc_session_start(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", player_name="Ada", player_gender="female"
    )
    return npc, opened


def _send(owner, npc, text):
    return services.npc_message_send(app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", text=text)


def test_a_matcher_decided_turn_makes_one_model_call_and_logs_state_score_and_decision(owner, started, calls):
    npc, opened = started
    turn = _send(owner, npc, "Hello there")

    assert calls == ["reply"]
    assert turn.model_calls == 1
    assert turn.evaluation.source == "matcher"
    assert turn.step.playthrough.current_state.key == "trust"
    assert turn.step.playthrough.score == 2
    reply = Event.objects.filter(session=opened.session, role="character").order_by("-cursor").first()
    assert reply.payload["text"] == turn.reply
    assert (reply.payload["state_key"], reply.payload["score"], reply.payload["decision"]) == ("trust", 2, "pass")
    types = list(Event.objects.filter(session=opened.session).order_by("cursor").values_list("event_type", flat=True))
    assert types == ["character.initiated", "message.created", "npc.state_changed", "message.created"]


def test_a_model_decided_turn_makes_two_calls_and_offline_takes_the_fallback_redirect(owner, started, calls):
    npc, _ = started
    turn = _send(owner, npc, "What a lovely gate")

    assert calls == ["evaluation", "reply"]
    assert turn.model_calls == 2
    assert turn.evaluation.source == "fallback"
    assert turn.step.result.decision == "redirect"
    assert turn.step.playthrough.current_state.key == "start"
    assert turn.step.playthrough.redirect_counts == {"start": 1}


def test_a_win_completes_the_machine_unlocks_the_next_and_ends_the_playthrough(owner, started, calls):
    npc, opened = started
    _send(owner, npc, "hello")
    turn = _send(owner, npc, "the password is swordfish")

    assert turn.step.result.machine_completed
    assert turn.step.playthrough.outcome == "ACCEPT"
    assert [m.machine_key for m in turn.unlocked] == ["vault"]
    with pytest.raises(PlaythroughFinished):
        _send(owner, npc, "hello again")
    assert len(selectors.npc_messages(session_id=opened.session.id)) == 5


def test_reset_opens_a_new_session_at_the_initial_state(owner, started):
    npc, opened = started
    _send(owner, npc, "hello")
    (again,) = services.npc_session_reset(app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1")

    assert again.session.id != opened.session.id
    assert again.playthrough.current_state.key == "start" and again.playthrough.score == 0
    assert selectors.npc_session_latest(playthrough_id=again.playthrough.id).id == again.session.id


def test_a_reply_that_fails_writes_nothing_of_the_turn_so_the_player_can_send_it_again(owner, started, fake_llm):
    npc, opened = started
    before = list(Event.objects.filter(session=opened.session).values_list("cursor", flat=True))
    fake_llm.set_mode("fail")

    with pytest.raises(ApplicationError):
        _send(owner, npc, "Hello there")  # the matchers pass it; the reply call fails

    playthrough = npcs_selectors.playthrough_get(app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1")
    assert (playthrough.current_state.key, playthrough.score, playthrough.outcome) == ("start", 0, "")
    assert list(Event.objects.filter(session=opened.session).values_list("cursor", flat=True)) == before
    failed = UsageRecord.objects.get(session_id=opened.session.id)
    assert (failed.purpose, failed.status, failed.outcome) == ("reply", "settled", "failed")

    fake_llm.set_mode("instant")
    turn = _send(owner, npc, "Hello there")
    assert (turn.step.playthrough.current_state.key, turn.step.playthrough.score) == ("trust", 2)


def _with_outputs() -> dict:
    """The gate scenario whose gate machine has an output variable, and a vault door that opens only for the
    player whose motive was learnt at the gate."""
    body = scenario_body()
    gate, vault = body["machines"]
    gate["variables"] = [{"key": "motive", "extraction_prompt": "Why the player wants through the gate."}]
    vault["transitions"][0]["matchers"] = [{"type": "variable", "key": "motive", "op": "eq", "value": "treasure"}]
    return body


@pytest.fixture
def outputs(owner):
    npc = npcs_services.npc_save(app=owner.api_key.app, body=_with_outputs())
    services.npc_session_start(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", player_name="Ada", player_gender="female"
    )
    return npc


def test_a_model_decided_completion_keeps_the_variables_its_evaluation_extracted(owner, outputs, fake_llm):
    npc = outputs
    _send(owner, npc, "hello")  # a matcher: no variable is asked for before the end
    trust_to_won = Transition.objects.get(machine__npc=npc, from_state__key="trust", to_state__key="won")
    fake_llm.queue_json({"transition_key": trust_to_won.id, "reason": "knows it", "variables": {"motive": "treasure"}})

    turn = _send(owner, npc, "I am here for the gold beyond")

    assert turn.model_calls == 2 and turn.evaluation.source == "model"
    assert (turn.step.playthrough.outcome, turn.step.playthrough.variables) == ("ACCEPT", {"motive": "treasure"})
    evaluation_request = [r for r in fake_llm.chat_requests if r.body.get("response_format")][-1]
    system = evaluation_request.body["messages"][0]["content"]
    assert "motive: Why the player wants through the gate." in system and '"variables"' in system
    assert f"transition_key={trust_to_won.id}" in system

    # the vault, unlocked by the win, starts with what the gate learnt: its matcher and its prompts see it
    vault = turn.unlocked[0].machine_id
    services.npc_session_start(
        app=owner.api_key.app,
        npc_id=npc.id,
        player_session_id="player-1",
        player_name="Ada",
        player_gender="female",
        machine_id=vault,
    )
    inside = services.npc_message_send(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", text="let me in", machine_id=vault
    )
    assert (inside.evaluation.source, inside.step.playthrough.outcome) == ("matcher", "ACCEPT")
    reply_system = fake_llm.chat_requests[-1].body["messages"][0]["content"]
    assert "- motive: treasure" in reply_system


def test_a_matcher_decided_completion_asks_for_the_variables_in_the_evaluations_place(owner, outputs, fake_llm):
    npc = outputs
    _send(owner, npc, "hello")
    fake_llm.queue_json({"variables": {"motive": "  the view ", "unknown": "x"}})

    turn = _send(owner, npc, "the password")

    assert turn.model_calls == 2 and turn.evaluation.source == "matcher"
    assert turn.step.playthrough.variables == {"motive": "the view"}  # trimmed; keys the machine lacks dropped
    purposes = list(UsageRecord.objects.filter(session_id=turn.session.id).values_list("purpose", flat=True))
    assert sorted(purposes) == ["npc_extraction", "reply", "reply"]


def test_variables_are_not_kept_before_the_machine_completes(owner, outputs, fake_llm):
    npc = outputs
    fake_llm.queue_json({"decision": "redirect", "variables": {"motive": "treasure"}})
    turn = _send(owner, npc, "Lovely gate you have")
    assert (turn.step.result.decision, turn.step.playthrough.variables) == ("redirect", {})


def test_offline_a_completion_extracts_nothing_and_still_completes(owner, outputs, calls):
    npc = outputs
    _send(owner, npc, "hello")
    turn = _send(owner, npc, "the password")
    assert calls == ["reply", "evaluation", "reply"]  # the extraction rides in the evaluation's slot
    assert (turn.step.playthrough.outcome, turn.step.playthrough.variables) == ("ACCEPT", {})


def test_a_streamed_turn_announces_its_step_first_and_writes_once_the_reply_is_whole(owner, started):
    npc, opened = started
    stream = services.npc_message_stream(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", text="hello"
    )
    assert (stream.outcome.state.state_key, stream.outcome.decision, stream.turn) == ("trust", "pass", None)

    deltas = list(stream)

    assert len(deltas) > 1 and stream.turn is not None
    assert "".join(deltas).strip() == stream.turn.reply
    assert stream.turn.step.result == stream.outcome  # the step announced is the step written
    reply = Event.objects.filter(session=opened.session, role="character").order_by("-cursor").first()
    assert reply.payload["text"] == stream.turn.reply


def test_a_streamed_turn_reaches_the_sessions_event_streams_as_deltas_only_while_they_listen(owner, started, flashed):
    npc, opened = started
    app = owner.api_key.app
    list(services.npc_message_stream(app=app, npc_id=npc.id, player_session_id="player-1", text="hello"))
    assert flashed == []  # nobody listens: nothing published

    services.delta_listen(session_id=opened.session.id)
    stream = services.npc_message_stream(app=app, npc_id=npc.id, player_session_id="player-1", text="tell me more")
    deltas = list(stream)

    assert "".join(frame["text"] for frame in flashed) == "".join(deltas)
    assert {(frame["session_id"], frame["run_ref"]) for frame in flashed} == {(opened.session.id, None)}
    assert [frame["index"] for frame in flashed] == list(range(len(flashed)))


def test_a_listener_gone_mid_stream_does_not_lose_the_turn(owner, started):
    npc, opened = started
    stream = services.npc_message_stream(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", text="hello"
    )
    deltas = iter(stream)
    first = next(deltas)
    deltas.close()  # what the server does when the client disconnects

    assert stream.turn is not None and stream.turn.reply.startswith(first)
    playthrough = npcs_selectors.playthrough_get(app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1")
    assert playthrough.current_state.key == "trust"
    texts = [e.payload["text"] for e in selectors.npc_messages(session_id=opened.session.id)]
    assert texts[-2:] == ["hello", stream.turn.reply]


def test_a_playthrough_moved_by_another_message_refuses_the_streamed_turn_and_keeps_the_usage(owner, started):
    npc, opened = started
    stream = services.npc_message_stream(
        app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1", text="hello"
    )
    _send(owner, npc, "weather")  # a redirect lands first: same state, but the redirect count moved

    with pytest.raises(PlaythroughMoved):
        list(stream)
    playthrough = npcs_selectors.playthrough_get(app=owner.api_key.app, npc_id=npc.id, player_session_id="player-1")
    assert (playthrough.current_state.key, playthrough.redirect_counts) == ("start", {"start": 1})
    assert UsageRecord.objects.filter(session_id=opened.session.id, purpose="reply", status="settled").count() == 2
