"""Errors of the npcs app, the engine's included (they live beside the pure engine, which raises them, and are
named here so other apps catch them through this module)."""

from apps.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from apps.npcs.engine.errors import EvaluationInvalid, PlaythroughFinished

__all__ = [
    "EvaluationInvalid",
    "MachineNotAvailable",
    "MachineNotFound",
    "NpcNotFound",
    "NpcNotYours",
    "PlaythroughFinished",
    "PlaythroughMoved",
    "PlaythroughNotFound",
    "ScenarioInvalid",
]


class NpcNotFound(NotFound):
    code = "npc_not_found"
    fix = "Check the persona id; another app's private personas are not visible to your key."


class NpcNotYours(PermissionDenied):
    """Another app's public NPC: readable and playable, never changed or deleted."""

    code = "npc_not_yours"
    fix = "Only the app that created a persona can change or delete it."


class MachineNotFound(NotFound):
    code = "npc_machine_not_found"
    fix = "Use a machine id from the persona's /full export."


class MachineNotAvailable(PermissionDenied):
    code = "npc_machine_not_available"
    fix = "Play an available machine first (GET the player's machines), or publish this one."


class PlaythroughNotFound(NotFound):
    code = "npc_session_not_found"
    fix = "Start the session with init-session first."


class PlaythroughMoved(Conflict):
    """The playthrough changed state while its message was being evaluated (a concurrent message)."""

    code = "npc_session_moved"
    fix = "Send the message again."


class ScenarioInvalid(ValidationFailed):
    """A scenario body that has the right shape but breaks a rule of the graph (unknown or duplicate keys,
    unreachable states, dead ends, no terminal state)."""

    code = "npc_scenario_invalid"
    fix = "Correct the fields named in the message; keys are referenced by from/to fields."
