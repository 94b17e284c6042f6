"""Reads for NPCs, scoped to the asking app: its own NPCs, and other apps' public ones (read and played,
never changed). Another app's private NPC looks absent (NpcNotFound). Playthroughs are the asking app's own
players' only, whoever owns the NPC.

What a turn reads that only authoring changes (a machine's engine graph, state rows and output variables) is
cached in the shared cache under the NPC's generation (``SCENARIOS``); every write that changes a scenario
bumps it (the services and the admin's saves and deletes). A warm turn reads none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet

from apps.core.compiled import CompiledRead
from apps.core.generations import Generation, GenerationRead
from apps.npcs import engine
from apps.npcs.errors import MachineNotFound, NpcNotFound, PlaythroughNotFound
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Variable
from apps.npcs.prompts import (  # noqa: F401 - what an NPC's model calls say and how answers read: the door
    evaluation_messages,
    evaluation_parse,
    extraction_messages,
    npc_name,
    reply_messages,
    variables_parse,
)
from apps.npcs.scenario import machine_graph_of, scenario_export
from apps.npcs.types import PlayerMachine, UnlockedMachine

if TYPE_CHECKING:
    from apps.accounts.models import App


# One NPC's authored scenario set, as turns read it: scope = the NPC's id, one value per machine. Bumped by
# services.npc_save / npc_delete / state_create / state_transitions_default and by the admin's saves and
# deletes (``admin._ScenarioChecked``), at once and after commit.
SCENARIOS = Generation("npc-scenarios")


@dataclass(frozen=True)
class _MachineRead:
    """A machine as a turn needs it: the engine's graph, the state rows by key and the output variables
    (picklable: frozen dataclasses and model instances)."""

    graph: engine.MachineGraph
    states: dict[str, State]
    outputs: list[Variable]


def _machine_read(machine: Machine) -> _MachineRead:
    """The machine's cached read, kept on the row as well: one turn asks for it several times (matchers,
    preview, reply state, outputs) and gets one cache round trip and one consistent snapshot. A turn reads
    its rows afresh, so the next turn asks the cache again."""
    read = machine.__dict__.get("_scenario_read")
    if read is None:

        def compute() -> _MachineRead:
            states = list(machine.states.all())
            outputs = list(machine.variables.order_by("position", "created_at", "id"))
            return _MachineRead(machine_graph_of(machine, states), {state.key: state for state in states}, outputs)

        read = machine.__dict__["_scenario_read"] = SCENARIOS.get(compute, scope=machine.npc_id, key=machine.id)
    return read


def machine_scenario_read(*, machine: Machine) -> GenerationRead:
    """The cache read of the machine's scenario, for ``core.generations.generations_read_ahead``."""
    return SCENARIOS.read(scope=machine.npc_id, key=machine.id)


def _visible(app: App) -> Q:
    return Q(app=app) | Q(is_public=True)


def npc_get(*, app: App, npc_id: str) -> NPC:
    """The app's NPC or a public one; NpcNotFound otherwise (another app's private NPC included)."""
    npc = NPC.objects.select_related("character__current_version").filter(_visible(app), pk=npc_id).first()
    if npc is None:
        raise NpcNotFound(f"No persona with id '{npc_id}'.")
    return npc


def npc_list(
    *, app: App, public_only: bool = False, mine_only: bool = False, published_only: bool = False, limit: int = 20
) -> list[NPC]:
    """Newest first: the app's NPCs and public ones (``public_only``: public ones, the app's included;
    ``mine_only``: the app's own; ``published_only``: those with a published machine, playable by players)."""
    rows: QuerySet[NPC] = NPC.objects.select_related("character__current_version")
    if published_only:
        rows = rows.filter(pk__in=Machine.objects.filter(is_published=True).values("npc_id"))
    if public_only:
        rows = rows.filter(is_public=True)
    rows = rows.filter(app=app) if mine_only else rows.filter(_visible(app))
    return list(rows.order_by("-created_at", "-id")[:limit])


def npc_full(*, app: App, npc_id: str) -> dict[str, Any]:
    """The ``/full`` body: persona, machines with states, transitions and variables, links; ids added."""
    return scenario_export(npc_get(app=app, npc_id=npc_id))


def machine_list(*, npc: NPC, published_only: bool = False) -> list[Machine]:
    rows = Machine.objects.filter(npc=npc)
    if published_only:
        rows = rows.filter(is_published=True)
    return list(rows.order_by("position", "created_at", "id"))


def machine_get(*, npc: NPC, machine_id: str | None = None) -> Machine:
    """The NPC's machine ``machine_id``, or its primary one (the first entry machine, else the first)."""
    rows = Machine.objects.filter(npc=npc)
    if machine_id is not None:
        machine = rows.filter(pk=machine_id).first()
    else:
        machine = rows.order_by("-is_entry", "position", "created_at", "id").first()
    if machine is None:
        raise MachineNotFound(f"No machine '{machine_id}' for this persona." if machine_id else "No machine yet.")
    return machine


def machine_graph(*, machine: Machine) -> engine.MachineGraph:
    """The engine's graph of ``machine`` (states, transitions keyed by id, outgoing links); cached."""
    return _machine_read(machine).graph


def machines_available(*, app: App, npc_id: str, player_session_id: str, published_only: bool = True) -> list[Machine]:
    """The machines one player may play, in the NPC's order: entry machines, machines no link leads to, and
    machines that a link from one the player finished unlocks."""
    npc = npc_get(app=app, npc_id=npc_id)
    machines = machine_list(npc=npc, published_only=published_only)
    keys = {machine.id: machine.key for machine in Machine.objects.filter(npc=npc)}
    links = [
        engine.LinkSpec(keys[link.from_machine_id], keys[link.to_machine_id], link.condition_type, link.condition_value)
        for link in MachineLink.objects.filter(npc=npc)
    ]
    results = {
        keys[row.machine_id]: engine.MachineResult(row.outcome or None, row.score)
        for row in Playthrough.objects.filter(app=app, npc=npc, player_session_id=player_session_id)
    }
    available = set(engine.machines_available([(m.key, m.is_entry) for m in machines], links, results))
    return [machine for machine in machines if machine.key in available]


# For a playthrough read as its app's (``app_id``): its NPC is one that app may still see. An NPC made private
# since the player started is another app's and looks absent. The app's own NPC is the NPC's app being the
# playthrough's (a column comparison: a compiled read takes each value once).
PLAYER_SEES_NPC = Q(npc__app_id=F("app_id")) | Q(npc__is_public=True)


def _playthrough_read(by_machine: bool) -> CompiledRead:
    def build(app_id: str, npc_id: str, player_session_id: str, *machine_id: str) -> QuerySet[Playthrough]:
        rows = Playthrough.objects.filter(
            PLAYER_SEES_NPC, app_id=app_id, npc_id=npc_id, player_session_id=player_session_id
        )
        if machine_id:
            rows = rows.filter(machine_id=machine_id[0])
        related = rows.select_related("npc__character__current_version", "machine", "current_state")
        return related.order_by("-updated_at", "-id")[:1]

    return CompiledRead(build, markers=["\x00app", "\x00npc", "\x00player", *(["\x00machine"] if by_machine else [])])


# A turn's first read, compiled once per process (``CompiledRead``): compiling this five-table join cost
# more than running it. One shape without a machine id, one with.
_PLAYTHROUGH_LATEST = _playthrough_read(by_machine=False)
_PLAYTHROUGH_OF_MACHINE = _playthrough_read(by_machine=True)


def playthrough_get(*, app: App, npc_id: str, player_session_id: str, machine_id: str | None = None) -> Playthrough:
    """The app's player's playthrough of the machine (by default the one played most recently), with its NPC's
    character and current version, its machine and its current state, in one query. Raises NpcNotFound
    (an NPC the app cannot see) and PlaythroughNotFound."""
    if machine_id is None:
        found = _PLAYTHROUGH_LATEST.fetch(app.pk, npc_id, player_session_id)
    else:
        found = _PLAYTHROUGH_OF_MACHINE.fetch(app.pk, npc_id, player_session_id, machine_id)
    if not found:
        npc_get(app=app, npc_id=npc_id)  # NpcNotFound first, as before: the NPC itself may be unknown
        raise PlaythroughNotFound(f"No session '{player_session_id}' with this persona.")
    return found[0]


def playthrough_state(*, playthrough: Playthrough) -> engine.PlaythroughState:
    """The engine's view of a playthrough row."""
    return engine.PlaythroughState(
        state_key=playthrough.current_state.key,
        score=playthrough.score,
        outcome=playthrough.outcome or None,  # type: ignore[arg-type]
        redirect_counts=dict(playthrough.redirect_counts),
        variables=dict(playthrough.variables),
    )


def playthrough_matchers_evaluate(*, playthrough: Playthrough, text: str) -> engine.Evaluation | None:
    """What the deterministic matchers make of ``text`` in the playthrough's current state (None: ask the
    model)."""
    graph = machine_graph(machine=playthrough.machine)
    return engine.matchers_evaluate(graph, playthrough.current_state.key, text, playthrough.variables)


def playthrough_step_preview(*, playthrough: Playthrough, evaluation: engine.Evaluation) -> engine.StepResult:
    """What ``services.playthrough_step`` will do with ``evaluation`` if the playthrough has not moved by then:
    the engine's step on the state as read, writing nothing (a turn writes its reply in the state it leads
    to)."""
    state = playthrough_state(playthrough=playthrough)
    return engine.playthrough_step(machine_graph(machine=playthrough.machine), state, evaluation)


def machines_unlocked(*, npc_id: str, result: engine.StepResult) -> tuple[UnlockedMachine, ...]:
    """The machines a step's unlocks name, as players see them (id, key, name, auto-advance)."""
    if not result.unlocks:
        return ()
    by_key = {machine.key: machine for machine in Machine.objects.filter(npc_id=npc_id)}
    return tuple(
        UnlockedMachine(by_key[link.to_machine].id, link.to_machine, by_key[link.to_machine].name, link.auto_advance)
        for link in result.unlocks
        if link.to_machine in by_key
    )


def machine_outputs(*, machine: Machine) -> list[Variable]:
    """The machine's output variables, in the authored order: extracted when it completes; cached."""
    return list(_machine_read(machine).outputs)


def machine_state_get(*, machine: Machine, key: str) -> State:
    """One state of ``machine`` by its key (cached with the graph; State.DoesNotExist for an unknown key)."""
    state = _machine_read(machine).states.get(key)
    return state if state is not None else machine.states.get(key=key)


def player_machines(*, app: App, npc_id: str, player_session_id: str) -> list[PlayerMachine]:
    """The machines available to one player (``machines_available``), each with the player's playthrough
    of it and whether a link leads to it."""
    available = machines_available(app=app, npc_id=npc_id, player_session_id=player_session_id)
    ids = [machine.id for machine in available]
    played = {
        row.machine_id: row
        for row in Playthrough.objects.filter(app=app, machine_id__in=ids, player_session_id=player_session_id)
    }
    linked = set(MachineLink.objects.filter(to_machine_id__in=ids).values_list("to_machine_id", flat=True))
    return [PlayerMachine(machine, played.get(machine.id), machine.id in linked) for machine in available]
