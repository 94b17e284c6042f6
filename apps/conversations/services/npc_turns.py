"""NPC sessions and turns: a player's playthrough of an NPC's machine, told as a session's event log.

A playthrough (``npcs``) holds where the player is; its messages are events of a ``conversations.Session``
pointing at it (the same log, cursors and sinks as every session). ``init-session`` and ``reset`` restart
the playthrough and open a new session, so a session's log is one run through the machine.

One turn makes at most two serial model calls, pinned in a test (prompts: ``npcs.prompts``):

1. Evaluation. The deterministic matchers of the state's transitions decide first (no model call). When
   none matches, the model chooses among the state's outgoing transitions with JSON output
   (``{"transition_key", "decision", "follow_up", "reason"}``, plus the machine's output ``variables`` when
   it has some). An answer that names no transition of the state and no decision (the offline ``scripted``
   provider answers ``{"text": ...}``) takes the documented fallback (``npcs.prompts.FALLBACK``: redirect;
   past the state's ``redirect_limit`` the engine turns it into the reject, so a loop always ends). There is
   no retry: a retry would be a third serial call. When a matcher decided and the step completes a machine
   that has output variables, the extraction call takes the evaluation's place.
2. The reply, in the voice of the state the evaluation leads to (``npcs.selectors.playthrough_step_preview``:
   the engine's step, computed without writing). ``npc_message_stream`` streams it token by token after
   sending the step's outcome first (the preview is what the commit will apply).
3. One transaction writes the turn: the step (``npcs.services.playthrough_step`` takes the playthrough's row
   lock; the playthrough must still be as the evaluation saw it, else PlaythroughMoved and nothing of the
   turn is written), the player's message, ``npc.state_changed`` when the state moved or the machine ended,
   the reply (``state_key``, ``score``, ``decision`` in its payload), ``npc.machine_completed`` (outcome,
   score, unlocked machines, variables) when it ended, and the calls' usage. A failed model call
   therefore leaves the playthrough as it was: the player can send the same message again.

Every call is reserved on the app's budgets before it is made (the reply's before the stream starts, so a
budget refusal is an HTTP error, not a broken stream) and settled after, like a run's. A request's own model
(``llm.types.CallOverrides``: the SDK's bring-your-own-key headers) replaces the character's for that
request's calls only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.accounts import selectors as accounts_selectors
from apps.accounts.types import UsagePurpose
from apps.conversations import selectors
from apps.conversations.models import Session
from apps.conversations.services import metering
from apps.conversations.services.deltas import DeltaPublisher, delta_listening
from apps.conversations.services.events import NewEvent, events_append
from apps.conversations.services.memory import memory_messages, npc_memory_queue, turn_memory_read
from apps.conversations.services.npc_sessions import opening, session_open
from apps.conversations.services.sessions import session_version_follow
from apps.core import metrics
from apps.core.errors import ApplicationError, ValidationFailed
from apps.core.generations import generations_read_ahead
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import CallOverrides, ChatMessage, ChatResult, ModelOverride
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services
from apps.npcs.errors import PlaythroughFinished, PlaythroughMoved
from apps.npcs.types import Evaluation, PlaythroughState, PlaythroughStep, StepResult, UnlockedMachine

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.npcs.types import Playthrough

MESSAGE_MAX_CHARS = 4000


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


def _text_check(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed({"message": ["Send a non-empty message."]})
    if len(text) > MESSAGE_MAX_CHARS:
        raise ValidationFailed({"message": [f"At most {MESSAGE_MAX_CHARS} characters."]})
    return text.strip()


def _current_session(app: App, playthrough: Playthrough) -> Session:
    session = selectors.npc_session_latest(playthrough_id=playthrough.id)
    if session is None:  # a playthrough started by another door (the admin): its log starts now
        with transaction.atomic():
            session = session_open(app, playthrough, opening(playthrough, playthrough.player_name))
    return session


def _history(session: Session) -> list[ChatMessage]:
    return [
        ChatMessage("user" if role == "user" else "assistant", text)
        for role, text in selectors.npc_history(session_id=session.id)
    ]


def _settle(outcomes: list[metering.CallOutcome]) -> None:
    """Settle calls whose turn is not written (a later call failed, the playthrough moved): usage stands."""
    if outcomes:
        with transaction.atomic():
            metering.calls_settle(outcomes=outcomes)


def _reserve(session: Session, messages: list[ChatMessage], purpose: str, override: ModelOverride | None):
    spec = llm_selectors.model_spec_get(name=session.character_version.content.get("model"))
    spec = llm_selectors.model_spec_override(spec=spec, override=override)
    return metering.session_call_reserve(session=session, spec=spec, messages=messages, purpose=purpose)


def _metered_json(
    session: Session, messages: list[ChatMessage], purpose: str, override: ModelOverride | None
) -> tuple[ChatResult, metering.CallOutcome]:
    """Reserve, call (outside any transaction), and return the answer with its outcome; a failed call is
    settled as failed before the error goes up."""
    call = _reserve(session, messages, purpose, override)
    try:
        result = llm_services.chat_json(spec=call.spec, messages=messages)
    except ApplicationError:
        _settle([metering.CallOutcome(call, None, "failed")])
        raise
    return result, metering.CallOutcome(call, result.usage, "succeeded", result.model)


@dataclass
class _Turn:
    """A turn evaluated and its reply reserved, not yet written: what the commit needs."""

    app: App
    playthrough: Playthrough
    session: Session
    seen: PlaythroughState  # the playthrough as evaluated: the commit applies the step only to this
    text: str
    evaluation: Evaluation
    preview: StepResult
    unlocked: tuple[UnlockedMachine, ...]
    reply_messages: list[ChatMessage]
    reply_call: metering.MeteredCall
    outcomes: list[metering.CallOutcome] = field(default_factory=list)


def _turn_prepare(
    *, app: App, npc_id: str, player_session_id: str, text: Any, machine_id: str | None, overrides: CallOverrides | None
) -> _Turn:
    text = _text_check(text)
    overrides = overrides or CallOverrides()
    playthrough = npcs_selectors.playthrough_get(
        app=app, npc_id=npc_id, player_session_id=player_session_id, machine_id=machine_id
    )
    if playthrough.outcome:
        raise PlaythroughFinished("This playthrough has ended; reset it or start another machine.")
    # The turn's three cached reads (its scenario, the model catalog, the app's budgets) in one round trip.
    with generations_read_ahead(
        npcs_selectors.machine_scenario_read(machine=playthrough.machine),
        llm_selectors.catalog_read(),
        accounts_selectors.budget_policies_read(app_id=app.pk),
    ):
        return _turn_evaluate(app, playthrough, text, overrides)


def _turn_evaluate(app: App, playthrough: Playthrough, text: str, overrides: CallOverrides) -> _Turn:
    session = _current_session(app, playthrough)
    # The turn runs on the NPC's character as published now (read with the playthrough); the commit records it.
    session_version_follow(session=session, current=playthrough.npc.character.current_version)
    seen = npcs_selectors.playthrough_state(playthrough=playthrough)
    history = _history(session)
    npc, machine, state = playthrough.npc, playthrough.machine, playthrough.current_state
    scene = {"npc": npc, "history": history, "text": text, "player_name": playthrough.player_name}
    outcomes: list[metering.CallOutcome] = []
    outputs = npcs_selectors.machine_outputs(machine=machine)
    evaluation = npcs_selectors.playthrough_matchers_evaluate(playthrough=playthrough, text=text)
    if evaluation is None:
        graph = npcs_selectors.machine_graph(machine=machine)
        messages = npcs_selectors.evaluation_messages(
            **scene, machine=machine, state=state, graph=graph, variables=seen.variables, outputs=outputs
        )
        result, outcome = _metered_json(session, messages, UsagePurpose.NPC_EVALUATION, overrides.evaluation)
        outcomes.append(outcome)
        evaluation = npcs_selectors.evaluation_parse(result.data, graph, seen.state_key, outputs)
    preview = npcs_selectors.playthrough_step_preview(playthrough=playthrough, evaluation=evaluation)
    try:
        if preview.machine_completed and outputs and evaluation.source != "model":
            messages = npcs_selectors.extraction_messages(**scene, machine=machine, outputs=outputs)
            result, outcome = _metered_json(session, messages, UsagePurpose.NPC_EXTRACTION, overrides.summarization)
            outcomes.append(outcome)
            evaluation = replace(evaluation, variables=npcs_selectors.variables_parse(result.data, outputs))
            preview = npcs_selectors.playthrough_step_preview(playthrough=playthrough, evaluation=evaluation)
        reply_state = npcs_selectors.machine_state_get(machine=machine, key=preview.state.state_key)
        reply_messages = npcs_selectors.reply_messages(
            **scene, state=reply_state, variables=preview.state.variables, follow_up=preview.follow_up
        )
        memory = turn_memory_read(session=session)  # what the NPC remembers of the player, from any scenario
        if memory is not None:
            reply_messages[1:1] = memory_messages(memory=memory, query=text)
        reply_call = _reserve(session, reply_messages, UsagePurpose.REPLY, overrides.reply)
    except ApplicationError:
        _settle(outcomes)  # the calls made stand; nothing of the turn is written
        raise
    unlocked = npcs_selectors.machines_unlocked(npc_id=npc.id, result=preview)
    return _Turn(
        app, playthrough, session, seen, text, evaluation, preview, unlocked, reply_messages, reply_call, outcomes
    )


def _turn_fail(turn: _Turn) -> None:
    """The reply failed: its reservation and the earlier calls are settled; the playthrough stays as it was."""
    _settle([*turn.outcomes, metering.CallOutcome(turn.reply_call, None, "failed")])
    metrics.turn_finished(kind="npc", outcome="failed")


def _completion(playthrough: Playthrough, step: PlaythroughStep) -> dict[str, Any]:
    """The ``npc.machine_completed`` payload: how the machine ended, what it unlocked and learnt."""
    return {
        "machine_id": playthrough.machine_id,
        "machine_key": playthrough.machine.key,
        "outcome": playthrough.outcome,
        "score": playthrough.score,
        "state_key": playthrough.current_state.key,
        "unlocked_machines": [
            {
                "machine_id": m.machine_id,
                "machine_key": m.machine_key,
                "name": m.name,
                "auto_advance": m.is_auto_advance,
            }
            for m in step.unlocked
        ],
        "variables": dict(playthrough.variables),
    }


def _turn_commit(turn: _Turn, result: ChatResult) -> NpcTurn:
    outcomes = [*turn.outcomes, metering.CallOutcome(turn.reply_call, result.usage, "succeeded", result.model)]
    reply = result.text.strip()
    state_key = turn.seen.state_key
    try:
        with transaction.atomic():
            step = npcs_services.playthrough_step(
                app=turn.app,
                playthrough_id=turn.playthrough.id,
                evaluation=turn.evaluation,
                expected=turn.seen,
                playthrough=turn.playthrough,
                savepoint=False,  # this transaction rolls back whole on any error
            )
            moved = step.playthrough
            events = [NewEvent("message.created", {"text": turn.text, "state_key": state_key}, role="user")]
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
                "evaluation_source": turn.evaluation.source,
            }
            events.append(NewEvent("message.created", payload, role="character"))
            if step.result.machine_completed:
                events.append(NewEvent("npc.machine_completed", _completion(moved, step)))
            events.extend(metering.calls_settle(outcomes=outcomes))
            events_append(
                session_id=turn.session.id, events=events, character_version_id=turn.session.character_version_id
            )
            npc_memory_queue(session=turn.session, appended=len(events), final=step.result.machine_completed)
    except PlaythroughMoved:
        _settle(outcomes)  # the calls were made: their usage stands even though the turn does not
        raise
    metrics.turn_finished(kind="npc", outcome="succeeded")
    return NpcTurn(turn.session, step, reply, turn.evaluation, len(outcomes))


def npc_message_send(
    *,
    app: App,
    npc_id: str,
    player_session_id: str,
    text: Any,
    machine_id: str | None = None,
    overrides: CallOverrides | None = None,
) -> NpcTurn:
    """Answer one player message: evaluate, reply, write (see the module's docstring).

    Raises ValidationFailed (empty or long text), NpcNotFound, PlaythroughNotFound, PlaythroughFinished,
    PlaythroughMoved (another message moved the player meanwhile), BudgetExceeded and the model's errors.
    """
    turn = _turn_prepare(
        app=app,
        npc_id=npc_id,
        player_session_id=player_session_id,
        text=text,
        machine_id=machine_id,
        overrides=overrides,
    )
    try:
        result = llm_services.chat(spec=turn.reply_call.spec, messages=turn.reply_messages)
    except ApplicationError:
        _turn_fail(turn)
        raise
    return _turn_commit(turn, result)


class NpcTurnStream:
    """A turn whose reply streams: ``outcome`` is known before the first token (the step the commit will
    apply); iterating yields the reply's text deltas as the model produces them, and once the stream is
    exhausted the turn is written and ``turn`` holds it. Errors raised while iterating (the model's,
    PlaythroughMoved at the commit) leave the playthrough as it was, as for ``npc_message_send``."""

    def __init__(self, turn: _Turn) -> None:
        self._turn = turn
        self.turn: NpcTurn | None = None

    @property
    def session(self) -> Session:
        return self._turn.session

    @property
    def playthrough(self) -> Playthrough:
        return self._turn.playthrough

    @property
    def outcome(self) -> StepResult:
        return self._turn.preview

    @property
    def unlocked(self) -> tuple[UnlockedMachine, ...]:
        return self._turn.unlocked

    def __iter__(self) -> Iterator[str]:
        stream = llm_services.ChatStream(self._turn.reply_call.spec, self._turn.reply_messages)
        deltas = iter(stream)
        # The session's event streams (native SSE) hear the reply as it is written too, as message.delta.
        listeners = DeltaPublisher(session_id=self.session.id) if delta_listening(session_id=self.session.id) else None
        try:
            try:
                for delta in deltas:  # noqa: UP028 - ``yield from`` would close ``deltas`` with this generator
                    if listeners is not None:
                        listeners.add(delta)
                    yield delta
            except GeneratorExit:
                # The listener went away mid-reply. The message was accepted: finish the reply unheard and
                # write the turn, so the history has it (nothing accepted is lost), then stop.
                for _ in deltas:
                    pass
                self._commit(stream)
                raise
        except ApplicationError:
            _turn_fail(self._turn)
            raise
        if listeners is not None:
            listeners.flush()
        self._commit(stream)

    def _commit(self, stream: llm_services.ChatStream) -> None:
        if self.turn is None and stream.result is not None:
            self.turn = _turn_commit(self._turn, stream.result)


def npc_message_stream(
    *,
    app: App,
    npc_id: str,
    player_session_id: str,
    text: Any,
    machine_id: str | None = None,
    overrides: CallOverrides | None = None,
) -> NpcTurnStream:
    """``npc_message_send`` with the reply streamed: evaluates and reserves now (raising what
    ``npc_message_send`` raises before its reply), and returns the stream to iterate."""
    return NpcTurnStream(
        _turn_prepare(
            app=app,
            npc_id=npc_id,
            player_session_id=player_session_id,
            text=text,
            machine_id=machine_id,
            overrides=overrides,
        )
    )
