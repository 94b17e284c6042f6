"""NPC sessions and turns: a player's playthrough of an NPC's machine, told as a session's event log.

A playthrough (``npcs``) holds where the player is; its messages are events of a ``conversations.Session``
pointing at it (the same log, cursors and sinks as every session). ``init-session`` and ``reset`` restart
the playthrough and open a new session, so a session's log is one run through the machine.

One turn (``npc_message_send``) makes at most two serial model calls, pinned in a test:

1. Evaluation. The deterministic matchers of the state's transitions decide first (no model call). When
   none matches, the model chooses among the state's outgoing transitions with JSON output
   (``{"transition_key", "decision", "follow_up", "reason"}``). An answer that names no transition of the
   state and no decision (the offline ``scripted`` provider answers ``{"text": ...}``) takes the
   documented fallback: ``redirect``, the player stays and the state's redirect count goes up (past the
   state's ``redirect_limit`` the engine turns it into the reject, so a loop always ends). There is no
   retry: a retry would be a third serial call.
2. The reply, in the voice of the state the evaluation leads to (``npcs.selectors.playthrough_step_preview``:
   the engine's step, computed without writing).
3. One transaction writes the turn: the step (``npcs.services.playthrough_step`` takes the playthrough's row
   lock; the state the evaluation saw must still be current, else PlaythroughMoved and nothing of the turn
   is written), the player's message, ``npc.state_changed`` when the state moved, the reply (``state_key``,
   ``score``, ``decision`` in its payload) and the calls' usage. A failed model call therefore leaves the
   playthrough as it was: the player can send the same message again.

Both calls are reserved on the app's budgets before they are made and settled after, like a run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.accounts.types import UsagePurpose
from apps.conversations.models import Event, Session
from apps.conversations.services import metering
from apps.conversations.services.events import NewEvent, events_append
from apps.core.errors import ApplicationError, ValidationFailed
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ChatMessage, ChatResult
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services
from apps.npcs.errors import PlaythroughFinished, PlaythroughMoved
from apps.npcs.types import Evaluation, MachineGraph, PlaythroughStep, UnlockedMachine

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.npcs.models import State
    from apps.npcs.types import Playthrough

MESSAGE_MAX_CHARS = 4000
HISTORY_TURNS = 20
FALLBACK = Evaluation(decision="redirect", reason="No transition chosen; the player stays.", source="fallback")
DECISIONS = ("pass", "redirect", "reject", "kick_out")


@dataclass(frozen=True)
class NpcSessionOpened:
    playthrough: Playthrough
    session: Session
    message: str


@dataclass(frozen=True)
class NpcTurn:
    """One answered player message: the step applied, the reply, and the session it was logged in."""

    session: Session
    step: PlaythroughStep
    reply: str
    evaluation: Evaluation
    model_calls: int

    @property
    def unlocked(self) -> tuple[UnlockedMachine, ...]:
        return self.step.unlocked


def _content(playthrough: Playthrough) -> dict[str, Any]:
    version = playthrough.npc.character.current_version
    return version.content if version is not None else {}


def _opening(playthrough: Playthrough, player_name: str) -> str:
    """The NPC's first line: the character's greeting, else a plain hello by name (no model call)."""
    content = _content(playthrough)
    greeting = (content.get("greeting") or "").strip()
    if greeting:
        return greeting
    name = content.get("display_name") or playthrough.npc.character.display_name
    return f'{name} looks up. "Hello, {player_name}."' if player_name else f'{name} looks up. "Hello."'


def _session_open(app: App, playthrough: Playthrough, message: str) -> Session:
    character = playthrough.npc.character
    accounts_services.app_quota_consume(app=app, resource="sessions")
    session = Session.objects.create(
        app=app,
        character=character,
        character_version=character.current_version,
        external_user_ref=playthrough.player_session_id,
        playthrough=playthrough,
    )
    payload = {
        "text": message,
        "bubbles": [message],
        "kind": "greeting",
        "state_key": playthrough.current_state.key,
        "score": playthrough.score,
        "decision": None,
    }
    events_append(session_id=session.id, events=[NewEvent("character.initiated", payload, role="character")])
    session.last_cursor = 1
    return session


@transaction.atomic
def npc_session_start(
    *,
    app: App,
    npc_id: str,
    player_session_id: str,
    player_name: str,
    player_gender: str,
    machine_id: str | None = None,
) -> NpcSessionOpened:
    """Start (or start again) the player's playthrough and open its session with the NPC's first line.

    Raises the errors of ``npcs.services.playthrough_start`` (NpcNotFound, MachineNotFound,
    MachineNotAvailable) and the app's session quota.
    """
    playthrough = npcs_services.playthrough_start(
        app=app,
        npc_id=npc_id,
        player_session_id=player_session_id,
        player_name=player_name,
        player_gender=player_gender,
        machine_id=machine_id,
    )
    message = _opening(playthrough, player_name)
    return NpcSessionOpened(playthrough, _session_open(app, playthrough, message), message)


@transaction.atomic
def npc_session_reset(
    *, app: App, npc_id: str, player_session_id: str, machine_id: str | None = None
) -> list[NpcSessionOpened]:
    """Send the player back to the start of one machine or all of them; each restarted playthrough gets a
    new session. Raises PlaythroughNotFound."""
    playthroughs = npcs_services.playthrough_reset(
        app=app, npc_id=npc_id, player_session_id=player_session_id, machine_id=machine_id
    )
    opened = []
    for playthrough in playthroughs:
        message = _opening(playthrough, playthrough.player_name)
        opened.append(NpcSessionOpened(playthrough, _session_open(app, playthrough, message), message))
    return opened


def _text_check(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed({"message": ["Send a non-empty message."]})
    if len(text) > MESSAGE_MAX_CHARS:
        raise ValidationFailed({"message": [f"At most {MESSAGE_MAX_CHARS} characters."]})
    return text.strip()


def _current_session(app: App, playthrough: Playthrough) -> Session:
    session = (
        Session.objects.filter(playthrough=playthrough)
        .select_related("character_version")
        .order_by("-created_at", "-id")
        .first()
    )
    if session is None:  # a playthrough started by another door (the admin): its log starts now
        with transaction.atomic():
            session = _session_open(app, playthrough, _opening(playthrough, playthrough.player_name))
    return session


def _history(session: Session) -> list[ChatMessage]:
    rows = (
        Event.objects.filter(session=session, role__in=("user", "character"))
        .order_by("-cursor")
        .values_list("role", "payload")[: HISTORY_TURNS * 2]
    )
    return [
        ChatMessage("user" if role == "user" else "assistant", str(payload.get("text", "")))
        for role, payload in reversed(rows)
    ]


def _persona_prompt(playthrough: Playthrough) -> str:
    content = _content(playthrough)
    name = content.get("display_name") or playthrough.npc.character.display_name
    parts = [f"You are {name}."]
    bio = (content.get("profile") or {}).get("visible_bio")
    if bio:
        parts.append(bio)
    if content.get("character_direction"):
        parts.append(str(content["character_direction"]))
    if playthrough.player_name:
        parts.append(f"You are talking with {playthrough.player_name}.")
    return "\n\n".join(parts)


def _evaluation_messages(playthrough: Playthrough, graph: MachineGraph, history: list[ChatMessage], text: str):
    state = playthrough.current_state
    options = "\n".join(
        f"- transition_key={t.key} decision={t.decision} to={t.to_state}" for t in graph.outgoing(state.key)
    )
    system = "\n\n".join(
        part
        for part in (
            _persona_prompt(playthrough),
            f"Scenario objective: {playthrough.machine.objective}" if playthrough.machine.objective else "",
            f"Current state: {state.key}. {state.system_prompt}",
            f"Evaluation criteria: {state.evaluation_criteria}" if state.evaluation_criteria else "",
            f"Ask a follow-up question instead when: {state.follow_up_condition}" if state.follow_up_condition else "",
            "Judge the player's last message. Choose one of these transitions:\n" + options,
            'Answer with a JSON object: {"transition_key": str, "decision": "pass"|"redirect"|"reject"|"kick_out", '
            '"follow_up": bool, "reason": str}.',
        )
        if part
    )
    return [ChatMessage("system", system), *history, ChatMessage("user", text)]


def _evaluation_parse(data: Any, graph: MachineGraph, state_key: str) -> Evaluation:
    """The model's JSON answer checked against the state's transitions; anything else is the fallback."""
    if not isinstance(data, dict):
        return FALLBACK
    reason = str(data.get("reason") or "")[:500]
    follow_up = data.get("follow_up") is True
    keys = {t.key: t for t in graph.outgoing(state_key)}
    key = data.get("transition_key")
    if isinstance(key, str) and key in keys:
        return Evaluation(keys[key].decision, key, follow_up, reason, "model")
    decision = data.get("decision")
    if decision in DECISIONS and (decision != "pass" or graph.first(state_key, "pass") is not None):
        return Evaluation(decision, None, follow_up, reason, "model")
    if follow_up:
        return Evaluation(None, None, True, reason, "model")
    return FALLBACK


def _reply_messages(
    playthrough: Playthrough, state: State, history: list[ChatMessage], text: str
) -> list[ChatMessage]:
    system = "\n\n".join(
        part
        for part in (
            _persona_prompt(playthrough),
            state.system_prompt,
            "Stay in character. Reply to the player's last message in a few sentences.",
        )
        if part
    )
    return [ChatMessage("system", system), *history, ChatMessage("user", text)]


def _metered_call(session: Session, messages: list[ChatMessage], purpose: str, *, as_json: bool):
    """Reserve, call (outside any transaction), and return the call with its outcome; a failed call is
    settled as failed before the error goes up."""
    spec = llm_selectors.model_spec_get(name=session.character_version.content.get("model"))
    call = metering.session_call_reserve(session=session, spec=spec, messages=messages, purpose=purpose)
    try:
        result: ChatResult = (llm_services.chat_json if as_json else llm_services.chat)(spec=spec, messages=messages)
    except ApplicationError:
        with transaction.atomic():
            metering.calls_settle(outcomes=[metering.CallOutcome(call, None, "failed")])
        raise
    return result, metering.CallOutcome(call, result.usage, "succeeded", result.model)


def npc_message_send(
    *, app: App, npc_id: str, player_session_id: str, text: Any, machine_id: str | None = None
) -> NpcTurn:
    """Answer one player message: evaluate, step, reply (see the module's docstring).

    Raises ValidationFailed (empty or long text), NpcNotFound, PlaythroughNotFound, PlaythroughFinished,
    PlaythroughMoved (another message moved the player meanwhile), BudgetExceeded and the model's errors.
    """
    text = _text_check(text)
    playthrough = npcs_selectors.playthrough_get(
        app=app, npc_id=npc_id, player_session_id=player_session_id, machine_id=machine_id
    )
    if playthrough.outcome:
        raise PlaythroughFinished("This playthrough has ended; reset it or start another machine.")
    session = _current_session(app, playthrough)
    state_key = playthrough.current_state.key
    history = _history(session)
    outcomes: list[metering.CallOutcome] = []
    evaluation = npcs_selectors.playthrough_matchers_evaluate(playthrough=playthrough, text=text)
    if evaluation is None:
        graph = npcs_selectors.machine_graph(machine=playthrough.machine)
        messages = _evaluation_messages(playthrough, graph, history, text)
        result, outcome = _metered_call(session, messages, UsagePurpose.NPC_EVALUATION, as_json=True)
        outcomes.append(outcome)
        evaluation = _evaluation_parse(result.data, graph, state_key)
    preview = npcs_selectors.playthrough_step_preview(playthrough=playthrough, evaluation=evaluation)
    reply_state = npcs_selectors.machine_state_get(machine=playthrough.machine, key=preview.state.state_key)
    messages = _reply_messages(playthrough, reply_state, history, text)
    try:
        result, outcome = _metered_call(session, messages, UsagePurpose.REPLY, as_json=False)
    except ApplicationError:
        if outcomes:  # the evaluation was made: its usage stands; nothing of the turn is written
            with transaction.atomic():
                metering.calls_settle(outcomes=outcomes)
        raise
    outcomes.append(outcome)
    reply = result.text.strip()
    try:
        with transaction.atomic():
            step = npcs_services.playthrough_step(
                app=app, playthrough_id=playthrough.id, evaluation=evaluation, expected_state_key=state_key
            )
            moved = step.playthrough
            events = [NewEvent("message.created", {"text": text, "state_key": state_key}, role="user")]
            if step.result.state.state_key != state_key or step.result.machine_completed:
                events.append(
                    NewEvent(
                        "npc.state_changed",
                        {
                            "from_state_key": state_key,
                            "state_key": moved.current_state.key,
                            "score": moved.score,
                            "outcome": moved.outcome or None,
                            "decision": step.result.decision,
                        },
                    )
                )
            payload = {
                "text": reply,
                "bubbles": [reply],
                "state_key": moved.current_state.key,
                "score": moved.score,
                "decision": step.result.decision,
                "follow_up": step.result.follow_up,
                "evaluation_source": evaluation.source,
            }
            events.append(NewEvent("message.created", payload, role="character"))
            events.extend(metering.calls_settle(outcomes=outcomes))
            events_append(session_id=session.id, events=events)
    except PlaythroughMoved:
        with transaction.atomic():  # the calls were made: their usage stands even though the turn does not
            metering.calls_settle(outcomes=outcomes)
        raise
    return NpcTurn(session, step, reply, evaluation, len(outcomes))
