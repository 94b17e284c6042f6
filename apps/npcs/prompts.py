"""What an NPC's model calls say, and how their answers are read: the evaluation (which transition the
player's message takes), the extraction of output variables, and the reply in a state's voice.

No call is made here: the caller (a player's turn in ``conversations``, the admin's dry run) builds the
messages with these functions, makes the call its own way (metered for players, unmetered for writers'
dry runs) and reads the answer back with ``evaluation_parse`` / ``variables_parse``.

The evaluation is also where output variables are extracted: when the machine has variables, the evaluation
asks for them in the same JSON answer, and the engine keeps them only if the step completes the machine. A
turn decided by a matcher made no evaluation call, so when it completes a machine with variables the caller
asks ``extraction_messages`` instead, in the evaluation's place: a turn never makes more than two serial
model calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from apps.llm.types import ChatMessage
from apps.npcs.engine import DECISIONS, Evaluation, MachineGraph

if TYPE_CHECKING:
    from apps.npcs.models import NPC, Machine, State, Variable

# What a model answer that names no transition, no decision and no follow-up becomes: the player stays (and
# the state's redirect count goes up; past its limit the engine turns it into the reject, so a loop ends).
FALLBACK = Evaluation(decision="redirect", reason="No transition chosen; the player stays.", source="fallback")
VARIABLE_MAX_CHARS = 500


def _content(npc: NPC) -> dict[str, Any]:
    version = npc.character.current_version
    return version.content if version is not None else {}


def npc_name(npc: NPC) -> str:
    return _content(npc).get("display_name") or npc.character.display_name


def persona_prompt(npc: NPC, *, player_name: str = "", variables: Mapping[str, Any] | None = None) -> str:
    """Who the NPC is (name, bio, identity prompt), who it talks with, and what earlier machines learned."""
    content = _content(npc)
    parts = [f"You are {npc_name(npc)}."]
    bio = (content.get("profile") or {}).get("visible_bio")
    if bio:
        parts.append(str(bio))
    if content.get("character_direction"):
        parts.append(str(content["character_direction"]))
    if player_name:
        parts.append(f"You are talking with {player_name}.")
    if variables:
        known = "\n".join(f"- {key}: {value}" for key, value in variables.items())
        parts.append("What you already know about the player:\n" + known)
    return "\n\n".join(parts)


def _variables_instruction(variables: Sequence[Variable]) -> str:
    wanted = "\n".join(f"- {variable.key}: {variable.extraction_prompt}" for variable in variables)
    return (
        "From the whole conversation, also fill these output variables (a short string each, or null when the "
        "conversation does not tell):\n" + wanted
    )


def evaluation_messages(
    *,
    npc: NPC,
    machine: Machine,
    state: State,
    graph: MachineGraph,
    history: Sequence[ChatMessage],
    text: str,
    player_name: str = "",
    variables: Mapping[str, Any] | None = None,
    outputs: Sequence[Variable] = (),
) -> list[ChatMessage]:
    """The evaluation call: the state's criteria and outgoing transitions, and the JSON answer wanted
    (``{"transition_key", "decision", "follow_up", "reason"}``, plus ``"variables"`` when ``outputs``)."""
    options = "\n".join(
        f"- transition_key={t.key} decision={t.decision} to={t.to_state}"
        + (f" when: {t.condition}" if t.condition else "")
        for t in graph.outgoing(state.key)
    )
    answer = (
        '{"transition_key": str, "decision": "pass"|"redirect"|"reject"|"kick_out", "follow_up": bool, "reason": str'
    )
    answer += ', "variables": {"<key>": str|null}}' if outputs else "}"
    system = "\n\n".join(
        part
        for part in (
            persona_prompt(npc, player_name=player_name, variables=variables),
            f"Scenario objective: {machine.objective}" if machine.objective else "",
            f"Current state: {state.key}. {state.system_prompt}",
            f"Evaluation criteria: {state.evaluation_criteria}" if state.evaluation_criteria else "",
            f"Ask a follow-up question instead when: {state.follow_up_condition}" if state.follow_up_condition else "",
            "Judge the player's last message. Choose one of these transitions:\n" + options,
            _variables_instruction(outputs) if outputs else "",
            f"Answer with a JSON object: {answer}.",
        )
        if part
    )
    return [ChatMessage("system", system), *history, ChatMessage("user", text)]


def variables_parse(data: Any, outputs: Sequence[Variable]) -> dict[str, str]:
    """The output variables found in a model's JSON answer (``{"variables": {...}}`` or the object itself):
    only the machine's keys, non-empty values as trimmed strings."""
    if not isinstance(data, dict):
        return {}
    found = data.get("variables") if isinstance(data.get("variables"), dict) else data
    values = {}
    for variable in outputs:
        value = found.get(variable.key)
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value).strip()[:VARIABLE_MAX_CHARS]
        if text:
            values[variable.key] = text
    return values


def evaluation_parse(data: Any, graph: MachineGraph, state_key: str, outputs: Sequence[Variable] = ()) -> Evaluation:
    """The model's JSON answer checked against the state's transitions; anything else is ``FALLBACK``."""
    if not isinstance(data, dict):
        return FALLBACK
    reason = str(data.get("reason") or "")[:500]
    follow_up = data.get("follow_up") is True
    variables = variables_parse(data.get("variables"), outputs) if outputs else {}
    keys = {t.key: t for t in graph.outgoing(state_key)}
    key = data.get("transition_key")
    if isinstance(key, str) and key in keys:
        return Evaluation(keys[key].decision, key, follow_up, reason, "model", variables)
    decision = data.get("decision")
    if decision in DECISIONS and (decision != "pass" or graph.first(state_key, "pass") is not None):
        return Evaluation(decision, None, follow_up, reason, "model", variables)
    if follow_up:
        return Evaluation(None, None, True, reason, "model")
    return FALLBACK


def extraction_messages(
    *,
    npc: NPC,
    machine: Machine,
    history: Sequence[ChatMessage],
    text: str,
    player_name: str = "",
    outputs: Sequence[Variable],
) -> list[ChatMessage]:
    """The extraction call, made when a matcher completed a machine that has output variables."""
    system = "\n\n".join(
        part
        for part in (
            persona_prompt(npc, player_name=player_name),
            f"The scenario '{machine.name or machine.key}' has just ended.",
            _variables_instruction(outputs),
            'Answer with a JSON object: {"variables": {"<key>": str|null}}.',
        )
        if part
    )
    return [ChatMessage("system", system), *history, ChatMessage("user", text)]


def reply_messages(
    *,
    npc: NPC,
    state: State,
    history: Sequence[ChatMessage],
    text: str,
    player_name: str = "",
    variables: Mapping[str, Any] | None = None,
    follow_up: bool = False,
) -> list[ChatMessage]:
    """The reply call, in the voice of ``state`` (the state the evaluation leads to)."""
    system = "\n\n".join(
        part
        for part in (
            persona_prompt(npc, player_name=player_name, variables=variables),
            state.system_prompt,
            "Ask the player one clarifying question before you decide anything." if follow_up else "",
            "Stay in character. Reply to the player's last message in a few sentences.",
        )
        if part
    )
    return [ChatMessage("system", system), *history, ChatMessage("user", text)]
