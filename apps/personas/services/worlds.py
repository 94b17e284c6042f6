"""Worlds (the persona API's ``/worlds``): several personas sharing a scene, the actions they can do to each
other, their relationships there, and interactions.

An interaction is one transaction: the target's emotion steps (as a turn from the actor, through the same
engine and events as every turn), the target's relationship toward the actor in the world follows its trust,
the world's response rule decides which other members react as witnesses, and a ``WorldEvent`` records it
all. The appraisal is the given vector, else the named action's, else the described stimulus appraised by
the offline lexicon: an interaction never waits on a model call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.personas import engine
from apps.personas.errors import WorldActionNotFound, WorldRelationshipNotFound
from apps.personas.models import World, WorldAction, WorldEvent, WorldMember, WorldRelationship
from apps.personas.selectors import persona_api_get
from apps.personas.services.persona_api import persona_create, persona_tick
from apps.personas.services.turns import persona_turn
from apps.personas.types import PersonaTick, WorldInteraction
from apps.personas.world_selectors import world_get, world_member_find, world_members
from apps.personas.worlds import DEFAULT_ACTIONS, witness_appraisal

if TYPE_CHECKING:
    from apps.accounts.models import App

ENTITY_TYPES = ("user", "persona")


def world_create(
    *, app: App, name: str, description: str = "", access_policy: str = "", response_rule: str = ""
) -> World:
    return World.objects.create(
        app=app,
        name=name,
        description=description,
        access_policy=access_policy or World.AccessPolicy.CLOSED,
        response_rule=response_rule or World.ResponseRule.TARGET,
    )


def world_update(*, app: App, world_id: str, changes: Mapping[str, Any]) -> World:
    """Change ``name``, ``description``, ``access_policy`` and/or ``response_rule``."""
    world = world_get(app=app, world_id=world_id)
    fields = [name for name in ("name", "description", "access_policy", "response_rule") if name in changes]
    for name in fields:
        setattr(world, name, changes[name])
    world.save(update_fields=[*fields, "updated_at"])
    return world


def world_delete(*, app: App, world_id: str) -> None:
    """Mark the world deleted (404 from now on); its personas stay."""
    world = world_get(app=app, world_id=world_id)
    World.objects.filter(pk=world.pk).update(deleted_at=clock.now())


def _event(world: World, type: str, data: dict[str, Any]) -> WorldEvent:
    """Append an event; the caller holds the world's row lock, so a world's events commit in id order and a
    reader paging by id never skips one that commits late."""
    return WorldEvent.objects.create(world=world, type=type, data=data)


@transaction.atomic
def world_member_add(
    *,
    app: App,
    world_id: str,
    persona_id: str = "",
    config: Mapping[str, Any] | None = None,
    config_ref: str = "",
    display_name: str = "",
) -> WorldMember:
    """Add the app's persona ``persona_id``, or a new persona made from ``config``, to the world. Raises
    PersonaNotFound (another app's persona too) and EngineInputInvalid; nothing is written then."""
    world = world_get(app=app, world_id=world_id, lock=True)
    if persona_id:
        persona = persona_api_get(app=app, persona_id=persona_id)
    elif config is not None:
        persona = persona_create(app=app, config=config)
    else:
        raise ValidationFailed({"persona_id": ["Send 'persona_id' or an inline 'config'."]})
    name = display_name or (persona.spec or {}).get("identity", {}).get("name", "")
    member, _ = WorldMember.objects.get_or_create(
        world=world, persona=persona, defaults={"config_ref": config_ref or persona.pk, "display_name": name}
    )
    _event(world, "persona_added", {"member_id": member.pk, "persona_id": persona.pk, "display_name": name})
    return member


@transaction.atomic
def world_member_remove(*, app: App, world_id: str, member_ref: str) -> None:
    """Take the member out of the world (its persona stays), with its relationships there."""
    world = world_get(app=app, world_id=world_id, lock=True)
    member = world_member_find(world=world, member_ref=member_ref)
    WorldRelationship.objects.filter(world=world).filter(
        Q(source_type="persona", source_ref=member.pk) | Q(target_type="persona", target_ref=member.pk)
    ).delete()
    member.delete()
    _event(world, "persona_removed", {"member_id": member_ref, "persona_id": member.persona_id})


def world_action_create(
    *, app: App, world_id: str, name: str, description: str, appraisal: Mapping[str, float]
) -> WorldAction:
    """A custom action (a name taken by another custom action is a validation error)."""
    world = world_get(app=app, world_id=world_id)
    vector = engine.Appraisal.from_dict(appraisal, path="appraisal_vector")
    if WorldAction.objects.filter(world=world, name=name).exists():
        raise ValidationFailed({"name": [f"The world already has an action named '{name}'."]})
    return WorldAction.objects.create(world=world, name=name, description=description, appraisal=vector.to_dict())


def world_action_delete(*, app: App, world_id: str, action_ref: str) -> None:
    world = world_get(app=app, world_id=world_id)
    deleted, _ = WorldAction.objects.filter(world=world).filter(Q(pk=action_ref) | Q(name=action_ref)).delete()
    if not deleted:
        raise WorldActionNotFound(f"No custom action '{action_ref}' in world '{world.pk}'.")


def _entity_ref(world: World, entity_type: str, ref: str, field: str) -> str:
    """A relationship end's id: a member's id for a persona (found by member or persona id), as given for a user."""
    if entity_type not in ENTITY_TYPES:
        raise ValidationFailed({f"{field}_type": [f"Must be one of {', '.join(ENTITY_TYPES)}."]})
    if entity_type == "persona":
        return world_member_find(world=world, member_ref=ref).pk
    return ref


def world_relationship_set(
    *,
    app: App,
    world_id: str,
    source_type: str,
    source_ref: str,
    target_type: str,
    target_ref: str,
    kind: str = "",
    description: str = "",
    strength: float | None = None,
    trust: float | None = None,
) -> WorldRelationship:
    """Create or replace the relationship from source to target (persona ends must be members)."""
    world = world_get(app=app, world_id=world_id)
    source = _entity_ref(world, source_type, source_ref, "source")
    target = _entity_ref(world, target_type, target_ref, "target")
    values: dict[str, Any] = {"kind": kind, "description": description}
    if strength is not None:
        values["strength"] = strength
    if trust is not None:
        values["trust"] = trust
    relationship, _ = WorldRelationship.objects.update_or_create(
        world=world,
        source_type=source_type,
        source_ref=source,
        target_type=target_type,
        target_ref=target,
        defaults=values,
    )
    return relationship


def world_relationship_delete(*, app: App, world_id: str, relationship_id: str) -> None:
    world = world_get(app=app, world_id=world_id)
    deleted, _ = WorldRelationship.objects.filter(world=world, pk=relationship_id).delete()
    if not deleted:
        raise WorldRelationshipNotFound(f"No relationship '{relationship_id}' in world '{world.pk}'.")


def _interaction_appraisal(
    world: World, target: WorldMember, action: str, appraisal: Mapping[str, float] | None, stimulus: str
) -> engine.Appraisal:
    if appraisal is not None:
        return engine.Appraisal.from_dict(appraisal, path="appraisal_vector")
    if action:
        custom = WorldAction.objects.filter(world=world, name=action).values_list("appraisal", flat=True).first()
        if custom is not None:
            return engine.Appraisal.from_dict(custom)
        if action in DEFAULT_ACTIONS:
            return engine.Appraisal.from_dict(DEFAULT_ACTIONS[action][1])
        raise ValidationFailed({"action_name": [f"Unknown action '{action}': see GET /worlds/{{id}}/actions."]})
    if stimulus:
        return engine.appraise_text(stimulus, engine.personality_from_dict(target.persona.persona))
    raise ValidationFailed({"action_name": ["Send an action, a stimulus_description or an appraisal_vector."]})


def _witnesses(world: World, target: WorldMember, actor: str) -> list[tuple[WorldMember, float]]:
    """The members who react besides the target under the world's response rule, each with its sympathy for
    the target (-1..1; from its relationship's trust in the world, mildly positive without one)."""
    if world.response_rule == World.ResponseRule.TARGET:
        return []
    members = [m for m in world_members(world=world) if m.pk not in (target.pk, actor)]
    ties = {
        (rel.source_ref, rel.target_ref): rel
        for rel in WorldRelationship.objects.filter(world=world, source_type="persona")
    }
    chosen = []
    for member in members:
        toward_target = ties.get((member.pk, target.pk))
        related = toward_target is not None or (member.pk, actor) in ties
        if world.response_rule == World.ResponseRule.AI and not related:
            continue
        sympathy = (2 * toward_target.trust - 1) if toward_target is not None else 0.3
        chosen.append((member, sympathy))
    return chosen


@transaction.atomic
def world_interact(
    *,
    app: App,
    world_id: str,
    target_ref: str,
    action: str = "",
    label: str = "",
    stimulus: str = "",
    appraisal: Mapping[str, float] | None = None,
    actor_ref: str = "",
    actor_type: str = "user",
) -> WorldInteraction:
    """``actor_ref`` does ``action`` (or the described ``stimulus``) to the target member; see the module doc.
    Raises WorldNotFound, WorldMemberNotFound and ValidationFailed (unknown action, bad vector) before any
    write."""
    world = world_get(app=app, world_id=world_id, lock=True)
    target = world_member_find(world=world, member_ref=target_ref)
    actor = _entity_ref(world, actor_type, actor_ref, "actor") if actor_ref else ""
    vector = _interaction_appraisal(world, target, action, appraisal, stimulus)
    before = engine.EmotionState.from_dict(target.persona.state).vad
    turn = persona_turn(
        app=app, session_id=target.persona_id, appraisal=vector.to_dict(), user_ref=actor, loaded=target.persona
    )
    relationship = None
    if actor and turn.result.relationship is not None:
        trust = turn.result.relationship.trust
        current = WorldRelationship.objects.filter(
            world=world, source_type="persona", source_ref=target.pk, target_type=actor_type, target_ref=actor
        ).first()
        nudge = 0.05 * vector.goal_congruence * vector.goal_relevance
        if current is None:
            relationship = WorldRelationship.objects.create(
                world=world,
                source_type="persona",
                source_ref=target.pk,
                target_type=actor_type,
                target_ref=actor,
                trust=trust,
                strength=min(1.0, max(0.0, 0.5 + nudge)),
            )
        else:
            current.trust, current.strength = trust, min(1.0, max(0.0, current.strength + nudge))
            current.save(update_fields=["trust", "strength", "updated_at"])
            relationship = current
    reactions = []
    for witness, sympathy in _witnesses(world, target, actor):
        seen = witness_appraisal(vector, sympathy=sympathy)
        reactions.append(
            (
                witness,
                persona_turn(
                    app=app,
                    session_id=witness.persona_id,
                    appraisal=seen.to_dict(),
                    user_ref=actor,
                    loaded=witness.persona,
                ),
            )
        )
    name = label or action or "stimulus"
    data = {
        "action": name,
        "actor": {"type": actor_type, "id": actor} if actor else None,
        "target": target.pk,
        "stimulus": stimulus or None,
        "appraisal": vector.to_dict(),
        "emotion": turn.result.state.vad.to_dict(),
        "reactions": [{"member_id": m.pk, "emotion": t.result.state.vad.to_dict()} for m, t in reactions],
    }
    event = _event(world, "interaction", data)
    return WorldInteraction(name, target, before, turn, tuple(reactions), relationship, event)


def world_member_tick(*, app: App, world_id: str, member_ref: str, seconds: float) -> PersonaTick:
    member = world_member_find(world=world_get(app=app, world_id=world_id), member_ref=member_ref)
    return persona_tick(app=app, persona_id=member.persona_id, seconds=seconds)


__all__ = [
    "WorldInteraction",
    "world_action_create",
    "world_action_delete",
    "world_create",
    "world_delete",
    "world_interact",
    "world_member_add",
    "world_member_remove",
    "world_member_tick",
    "world_relationship_delete",
    "world_relationship_set",
    "world_update",
]
