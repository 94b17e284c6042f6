"""Reads of worlds, always scoped to the asking app (re-exported by ``selectors``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from apps.personas.errors import WorldMemberNotFound, WorldNotFound
from apps.personas.models import World, WorldAction, WorldEvent, WorldMember, WorldRelationship
from apps.personas.worlds import DEFAULT_ACTIONS

if TYPE_CHECKING:
    from apps.accounts.models import App


def world_get(*, app: App, world_id: str, lock: bool = False) -> World:
    """Raises WorldNotFound for unknown ids, other apps' worlds and deleted ones. ``lock`` row-locks it until the
    transaction ends (what appends the world's events takes it, so events commit in their id order)."""
    worlds = World.objects.select_for_update() if lock else World.objects
    world = worlds.filter(app=app, pk=world_id, deleted_at__isnull=True).first()
    if world is None:
        raise WorldNotFound(f"No world with id '{world_id}'.")
    return world


def world_page(*, app: App, after: tuple[datetime, str] | None, limit: int) -> tuple[list[World], bool]:
    """The app's worlds, newest first; ``after`` is the (created_at, id) of the previous page's last row."""
    worlds = World.objects.filter(app=app, deleted_at__isnull=True)
    if after is not None:
        created_at, row_id = after
        worlds = worlds.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
    page = list(worlds.order_by("-created_at", "-id")[: limit + 1])
    return page[:limit], len(page) > limit


def world_members(*, world: World) -> list[WorldMember]:
    """The world's members with their personas, in the order they joined."""
    return list(WorldMember.objects.filter(world=world, persona__deleted_at__isnull=True).select_related("persona"))


def world_member_find(*, world: World, member_ref: str) -> WorldMember:
    """A member by its id or by its persona's id, with its persona; WorldMemberNotFound otherwise."""
    member = (
        WorldMember.objects.filter(world=world, persona__deleted_at__isnull=True)
        .filter(Q(pk=member_ref) | Q(persona_id=member_ref))
        .select_related("persona")
        .first()
    )
    if member is None:
        raise WorldMemberNotFound(f"No member '{member_ref}' in world '{world.pk}'.")
    return member


def world_member_get(*, app: App, world_id: str, member_ref: str) -> WorldMember:
    return world_member_find(world=world_get(app=app, world_id=world_id), member_ref=member_ref)


def world_actions(*, world: World) -> list[dict[str, Any]]:
    """The defaults, then the world's own actions (one with a default's name replaces it)."""
    custom = list(WorldAction.objects.filter(world=world))
    names = {action.name for action in custom}
    actions = [
        {"id": None, "name": name, "description": description, "appraisal": vector, "is_default": True}
        for name, (description, vector) in DEFAULT_ACTIONS.items()
        if name not in names
    ]
    actions += [
        {
            "id": action.id,
            "name": action.name,
            "description": action.description,
            "appraisal": action.appraisal,
            "is_default": False,
        }
        for action in custom
    ]
    return actions


def world_relationships(*, world: World) -> list[WorldRelationship]:
    return list(WorldRelationship.objects.filter(world=world))


def world_events_page(*, world: World, after: int | None, limit: int) -> tuple[list[WorldEvent], bool]:
    """The world's events, oldest first, after the event ``after`` (the previous page's last id)."""
    events = WorldEvent.objects.filter(world=world)
    if after is not None:
        events = events.filter(id__gt=after)
    page = list(events.order_by("id")[: limit + 1])
    return page[:limit], len(page) > limit


def world_scene_sections(*, world: World, member: WorldMember) -> tuple[str, ...]:
    """What a member's prompt adds in a world: the scene, who else is there, and its relationships there."""
    members = world_members(world=world)
    names = {m.pk: m.display_name or m.persona.spec.get("identity", {}).get("name") or m.pk for m in members}
    scene = f"Scene: {world.name}." + (f" {world.description}" if world.description else "")
    others = [name for pk, name in names.items() if pk != member.pk]
    sections = [scene]
    if others:
        sections.append("Also here: " + ", ".join(others) + ".")
    lines = []
    for rel in world_relationships(world=world):
        if rel.source_ref == member.pk:
            who = f"You toward {names.get(rel.target_ref, rel.target_ref)}"
        elif rel.target_ref == member.pk:
            who = f"{names.get(rel.source_ref, rel.source_ref)} toward you"
        else:
            continue
        line = f"- {who}: {rel.kind or 'acquaintance'}, trust {rel.trust:.2f}, strength {rel.strength:.2f}"
        lines.append(line + (f" ({rel.description})" if rel.description else ""))
    if lines:
        sections.append("Relationships here:\n" + "\n".join(lines))
    return tuple(sections)
