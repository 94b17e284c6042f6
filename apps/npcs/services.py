"""Writes for NPCs: save (create or replace) an NPC's whole scenario set, delete it, add a state with its
default transitions; start, reset and step a player's playthrough (the playing app's: see ``Playthrough``).

Every write is one transaction. Every write that changes a scenario bumps the NPC's cached reads
(``selectors.SCENARIOS``), so the next turn in any process reads the new one. A step locks its playthrough
row (``select_for_update``), so two messages of one player apply one after the other; the evaluation
(matchers, the model) happens before, outside any transaction, and ``expected`` catches a playthrough that
moved meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from apps.characters import services as characters_services
from apps.core.compiled import CompiledRead
from apps.core.ids import new_id
from apps.npcs import engine, selectors
from apps.npcs.errors import (
    MachineNotAvailable,
    MachineNotFound,
    NpcNotFound,
    NpcNotYours,
    PlaythroughMoved,
    PlaythroughNotFound,
)
from apps.npcs.models import NPC, Machine, Playthrough, State, Transition
from apps.npcs.scenario import character_content, scenario_export, scenario_validate, scenario_write
from apps.npcs.types import PlaythroughStep

if TYPE_CHECKING:
    from apps.accounts.models import App


def _owned(app: App, npc_id: str, *, lock: bool = False) -> NPC:
    """The app's own NPC; another app's public one is NpcNotYours (403), a private one NpcNotFound."""
    rows = NPC.objects.select_for_update() if lock else NPC.objects
    npc = rows.filter(Q(app=app) | Q(is_public=True), pk=npc_id).first()
    if npc is None:
        raise NpcNotFound(f"No persona with id '{npc_id}'.")
    if npc.app_id != app.pk:
        raise NpcNotYours("This persona belongs to another app; it can be played, not changed.")
    return npc


@transaction.atomic
def npc_save(*, app: App, body: Any, npc_id: str | None = None) -> NPC:
    """Create an NPC from a ``creator/save`` body, or replace ``npc_id``'s persona and whole scenario set.

    The body is validated whole first (ValidationFailed for its shape, ScenarioInvalid for the graph rules,
    each problem named by its path). The persona is kept in the NPC's character (a new character version
    when it changes); machines and states are matched by key, so playthroughs survive an edit.
    """
    data = scenario_validate(body)
    persona = data["persona"]
    if npc_id is None:
        npc_key = new_id("npc")
        content = {name: value for name, value in character_content(persona).items() if value is not None}
        content["profile"] = {k: v for k, v in content["profile"].items() if v is not None}
        published = characters_services.character_publish(app=app, data={"slug": npc_key, **content})
        npc = NPC.objects.create(id=npc_key, app=app, character=published.character, is_public=persona["is_public"])
    else:
        npc = _owned(app, npc_id, lock=True)
        characters_services.character_patch(app=app, slug=npc.character.slug, changes=character_content(persona))
        if npc.is_public != persona["is_public"]:
            npc.is_public = persona["is_public"]
            npc.save(update_fields=["is_public", "updated_at"])
    scenario_write(npc, data)
    selectors.SCENARIOS.bump(scope=npc.id)
    return npc


def npc_check(*, npc: NPC) -> None:
    """Check an NPC's saved scenario set by the rules ``npc_save`` applies (the admin saves row by row, then
    asks this); raises ScenarioInvalid naming the problems by their ``/full`` paths."""
    scenario_validate(scenario_export(npc))


@transaction.atomic
def machine_publish(*, machine_id: str, published: bool, app: App | None = None) -> Machine:
    """Publish a machine (players can reach it through the SDK routes) or take it back to a draft.

    Publishing checks the NPC's scenario set with the rules a published machine must pass (an initial state,
    a terminal one, every state reachable, no dead end) and raises ScenarioInvalid with the problems by path,
    changing nothing. Unpublishing needs no check; players already in the machine keep their playthroughs,
    but nobody can start it until it is published again. ``app`` scopes the machine to one app's NPCs
    (MachineNotFound otherwise); the admin, which works across apps, passes none.
    """
    rows = Machine.objects.select_for_update(of=("self",)).select_related("npc__character__current_version")
    if app is not None:
        rows = rows.filter(npc__app=app)
    machine = rows.filter(pk=machine_id).first()
    if machine is None:
        raise MachineNotFound(f"No machine '{machine_id}'.")
    if machine.is_published == published:
        return machine
    machine.is_published = published
    machine.save(update_fields=["is_published", "updated_at"])
    if published:
        npc_check(npc=machine.npc)  # raises out of the atomic block, which undoes the save
    # The cached reads hold no publish flag today; bumped all the same, as every scenario write is, so that
    # nothing cached later can outlive a publish.
    selectors.SCENARIOS.bump(scope=machine.npc_id)
    return machine


@transaction.atomic
def npc_delete(*, app: App, npc_id: str) -> None:
    """Delete the app's NPC with its machines and playthroughs (cannot be undone). Its character stays: the
    characters app has no delete (native sessions protect a character), and it may be chatted with natively."""
    npc = _owned(app, npc_id, lock=True)
    # Playthroughs first: their current state is protected, so that no edit loses a player by accident.
    Playthrough.objects.filter(npc=npc).delete()
    npc.delete()
    selectors.SCENARIOS.bump(scope=npc_id)


def state_transitions_default(*, state: State) -> list[Transition]:
    """A new non-terminal state's default transitions: pass (to the machine's first win state, else itself),
    reject (to its first lose state, else itself) and kick_out, for the writer to adjust."""
    if state.terminal:
        return []
    terminals = {
        kind: State.objects.filter(machine_id=state.machine_id, terminal=kind).order_by("position", "id").first()
        for kind in ("win", "lose")
    }
    targets = {"pass": terminals["win"] or state, "reject": terminals["lose"] or state, "kick_out": state}
    created = Transition.objects.bulk_create(
        Transition(
            machine_id=state.machine_id,
            from_state=state,
            to_state=target,
            decision_type=decision,
            priority=priority,
            position=priority,
        )
        for priority, (decision, target) in enumerate(targets.items())
    )
    selectors.SCENARIOS.bump(scope=state.machine.npc_id)  # after the write (again after commit, in one)
    return created


@transaction.atomic
def state_create(*, machine: Machine, key: str, **fields: Any) -> State:
    """Add a state to ``machine`` with its default transitions (pass, reject, kick_out)."""
    position = machine.states.count()
    state = State.objects.create(machine=machine, key=key, position=position, **fields)
    state_transitions_default(state=state)
    selectors.SCENARIOS.bump(scope=machine.npc_id)  # a terminal state gets no transitions, but is new
    return state


def _initial_state(machine: Machine) -> State:
    state = machine.states.filter(is_initial=True, terminal="").order_by("position", "id").first()
    if state is None:
        raise MachineNotAvailable(f"Machine '{machine.key}' has no initial state to start from.")
    return state


def _carried_variables(app: App, npc: NPC, player_session_id: str, machine: Machine) -> dict[str, Any]:
    """What the app's player's other machines with this NPC extracted, later playthroughs winning."""
    carried: dict[str, Any] = {}
    for variables in (
        Playthrough.objects.filter(app=app, npc=npc, player_session_id=player_session_id)
        .exclude(machine=machine)
        .order_by("updated_at", "id")
        .values_list("variables", flat=True)
    ):
        carried.update(variables)
    return carried


def _restart(playthrough: Playthrough, initial: State, variables: Mapping[str, Any], **fields: Any) -> None:
    playthrough.current_state = initial
    playthrough.score = 0
    playthrough.outcome = ""
    playthrough.redirect_counts = {}
    playthrough.variables = dict(variables)
    playthrough.started_at = timezone.now()
    playthrough.last_message_at = None
    for name, value in fields.items():
        setattr(playthrough, name, value)
    playthrough.save()


@transaction.atomic
def playthrough_start(
    *,
    app: App,
    npc_id: str,
    player_session_id: str,
    player_name: str = "",
    player_gender: str = "",
    machine_id: str | None = None,
    published_only: bool = True,
) -> Playthrough:
    """Start the app's player's playthrough of a machine (the NPC's primary one by default) at its initial
    state; the app's existing one for the same player session id starts again (Foil's init-session resets).
    Another app's player with that id, on a public NPC, is another playthrough and stays as it is.

    Raises NpcNotFound, MachineNotFound, and MachineNotAvailable for a machine that is unpublished (with
    ``published_only``), locked for this player, or has no initial state.
    """
    npc = selectors.npc_get(app=app, npc_id=npc_id)
    machine = selectors.machine_get(npc=npc, machine_id=machine_id)
    if published_only and not machine.is_published:
        raise MachineNotAvailable(f"Machine '{machine.key}' is not published.")
    available = selectors.machines_available(
        app=app, npc_id=npc.id, player_session_id=player_session_id, published_only=published_only
    )
    if machine not in available:
        raise MachineNotAvailable(f"Machine '{machine.key}' is locked for this player.")
    initial = _initial_state(machine)
    variables = _carried_variables(app, npc, player_session_id, machine)
    player = {"player_name": player_name, "player_gender": player_gender}
    key = {"app": app, "npc": npc, "machine": machine, "player_session_id": player_session_id}
    playthrough = Playthrough.objects.select_for_update().filter(**key).first()
    if playthrough is None:
        try:
            with transaction.atomic():
                return Playthrough.objects.create(
                    **key, **player, current_state=initial, variables=variables, started_at=timezone.now()
                )
        except IntegrityError:  # a concurrent start of the same player session won: restart that one
            playthrough = Playthrough.objects.select_for_update().get(**key)
    _restart(playthrough, initial, variables, **player)
    return playthrough


@transaction.atomic
def playthrough_reset(
    *, app: App, npc_id: str, player_session_id: str, machine_id: str | None = None
) -> list[Playthrough]:
    """Send the player back to the initial state of one machine, or of every machine they played; score,
    outcome, redirect counts and the machines' own variables are cleared. Raises PlaythroughNotFound."""
    npc = selectors.npc_get(app=app, npc_id=npc_id)
    rows = Playthrough.objects.select_for_update().filter(app=app, npc=npc, player_session_id=player_session_id)
    if machine_id is not None:
        rows = rows.filter(machine_id=machine_id)
    playthroughs = list(rows.select_related("machine").order_by("created_at", "id"))
    if not playthroughs:
        raise PlaythroughNotFound(f"No session '{player_session_id}' with this persona.")
    every = machine_id is None
    for playthrough in playthroughs:
        variables = {} if every else _carried_variables(app, npc, player_session_id, playthrough.machine)
        _restart(playthrough, _initial_state(playthrough.machine), variables)
    return playthroughs


# The step's locked read, compiled once per process (``CompiledRead``): it runs in every turn.
_PLAYTHROUGH_LOCKED = CompiledRead(
    lambda app_id, playthrough_id: (
        Playthrough.objects.select_for_update(of=("self",))
        .select_related("machine", "current_state")
        .filter(selectors.PLAYER_SEES_NPC, app_id=app_id, pk=playthrough_id)[:1]
    ),
    markers=["\x00app", "\x00playthrough"],
)
_STEP_FIELDS = ["current_state", "score", "outcome", "redirect_counts", "variables", "last_message_at", "updated_at"]
_STEP_SQL: dict[str, str] = {}  # database alias -> the compare-and-set UPDATE of a step


def _step_statement(alias: str) -> str:
    """``UPDATE ... SET <the step's fields> WHERE id = %s AND updated_at = %s``, built once per database."""
    sql = _STEP_SQL.get(alias)
    if sql is None:
        quote = connections[alias].ops.quote_name
        meta = Playthrough._meta
        assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in _STEP_FIELDS)
        sql = _STEP_SQL[alias] = (
            f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 (names from the model, values bound)
            f"WHERE {quote(meta.pk.column)} = %s AND {quote(meta.get_field('updated_at').column)} = %s"
        )
    return sql


def _step_unless_moved(
    playthrough: Playthrough, expected: engine.PlaythroughState, evaluation: engine.Evaluation
) -> PlaythroughStep:
    """Apply the step to a playthrough its caller read, in one UPDATE that takes effect only while the row is
    still as read (its ``updated_at``, which every write of a playthrough changes): a compare-and-set instead of
    a locked read, a comparison and a save. A concurrent step holds the row until it commits; this UPDATE then
    finds the newer row and changes nothing, which is PlaythroughMoved. Must run inside the caller's transaction.
    """
    if selectors.playthrough_state(playthrough=playthrough) != expected:
        raise PlaythroughMoved("The session moved on while this message was evaluated.")
    graph = selectors.machine_graph(machine=playthrough.machine)
    result = engine.playthrough_step(graph, expected, evaluation)
    new = result.state
    state = playthrough.current_state
    if new.state_key != expected.state_key:
        state = selectors.machine_state_get(machine=playthrough.machine, key=new.state_key)
    now = timezone.now()
    seen_at = playthrough.updated_at
    values = {
        "current_state": state.pk,
        "score": new.score,
        "outcome": new.outcome or "",
        "redirect_counts": dict(new.redirect_counts),
        "variables": dict(new.variables),
        "last_message_at": now,
        "updated_at": now,
    }
    alias = router.db_for_write(Playthrough)
    connection = connections[alias]
    meta = Playthrough._meta
    params = [meta.get_field(name).get_db_prep_save(values[name], connection=connection) for name in _STEP_FIELDS]
    params += [playthrough.pk, meta.get_field("updated_at").get_db_prep_save(seen_at, connection=connection)]
    with connection.cursor() as cursor:
        cursor.execute(_step_statement(alias), params)
        if cursor.rowcount != 1:
            raise PlaythroughMoved("The session moved on while this message was evaluated.")
    playthrough.current_state = state
    playthrough.score = new.score
    playthrough.outcome = new.outcome or ""
    playthrough.redirect_counts = values["redirect_counts"]
    playthrough.variables = values["variables"]
    playthrough.last_message_at = playthrough.updated_at = now
    unlocked = selectors.machines_unlocked(npc_id=playthrough.npc_id, result=result)
    return PlaythroughStep(playthrough=playthrough, result=result, unlocked=unlocked)


def playthrough_step(
    *,
    app: App,
    playthrough_id: str,
    evaluation: engine.Evaluation,
    expected: engine.PlaythroughState | None = None,
    playthrough: Playthrough | None = None,
    savepoint: bool = True,
) -> PlaythroughStep:
    """Apply one evaluated message to a playthrough: the engine's step, saved in one transaction under a row
    lock. ``expected`` (the playthrough as the evaluation saw it, e.g. for ``selectors.playthrough_step_preview``)
    raises PlaythroughMoved when a concurrent message changed it first, so the step applied is the one
    previewed. Raises PlaythroughNotFound, PlaythroughFinished and EvaluationInvalid (the engine's).

    A caller that read the playthrough itself (``selectors.playthrough_get``, scoped to its app) and knows what
    it saw passes both ``playthrough`` and ``expected`` inside its own transaction: the step is then one
    compare-and-set UPDATE on the caller's row (its machine's scenario is already loaded), and PlaythroughMoved
    when the row changed since it was read. ``savepoint=False`` for a caller whose own transaction rolls back as
    a whole on any error (a turn's write): two statements fewer."""
    if playthrough is not None and expected is not None:
        assert transaction.get_connection().in_atomic_block, "a compare-and-set step runs in its caller's transaction"
        return _step_unless_moved(playthrough, expected, evaluation)
    with transaction.atomic(savepoint=savepoint):
        found = _PLAYTHROUGH_LOCKED.fetch(app.pk, playthrough_id)
        if not found:
            raise PlaythroughNotFound(f"No session '{playthrough_id}'.")
        playthrough = found[0]
        state = selectors.playthrough_state(playthrough=playthrough)
        if expected is not None and expected != state:
            raise PlaythroughMoved("The session moved on while this message was evaluated.")
        graph = selectors.machine_graph(machine=playthrough.machine)
        result = engine.playthrough_step(graph, state, evaluation)
        new = result.state
        if new.state_key != state.state_key:
            playthrough.current_state = selectors.machine_state_get(machine=playthrough.machine, key=new.state_key)
        playthrough.score = new.score
        playthrough.outcome = new.outcome or ""
        playthrough.redirect_counts = dict(new.redirect_counts)
        playthrough.variables = dict(new.variables)
        playthrough.last_message_at = timezone.now()
        playthrough.save(update_fields=_STEP_FIELDS)
        unlocked = selectors.machines_unlocked(npc_id=playthrough.npc_id, result=result)
    return PlaythroughStep(playthrough=playthrough, result=result, unlocked=unlocked)


def playthroughs_erase(*, app: App, player_session_id: str) -> int:
    """Delete every playthrough of the app's player (their name, gender, variables and progress), in the app's
    NPCs and in other apps' public ones, for a GDPR erasure of that end-user; returns how many. Another app's
    player with the same id is that app's end-user and stays. Runs in the caller's transaction."""
    _, deleted = Playthrough.objects.filter(app=app, player_session_id=player_session_id).delete()
    return deleted.get(Playthrough._meta.label, 0)
