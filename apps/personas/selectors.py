"""Reads for persona sessions, always scoped to the asking app, and for a character's persona."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q

from apps.core.sql import ModelRows
from apps.personas import engine
from apps.personas.errors import PersonaNotFound, PersonaSessionNotFound
from apps.personas.models import CharacterPersona, PersonaRelationship, PersonaSession, ProactiveAction
from apps.personas.persona_config import system_prompt_compose
from apps.personas.specs import persona_spec_merge
from apps.personas.world_selectors import (
    world_actions,
    world_events_page,
    world_get,
    world_member_get,
    world_members,
    world_page,
    world_relationships,
    world_scene_sections,
)

if TYPE_CHECKING:
    from apps.accounts.models import App


def persona_session_get(*, app: App, session_id: str) -> PersonaSession:
    """Raises PersonaSessionNotFound for unknown ids and for another app's sessions."""
    session = PersonaSession.objects.filter(app=app, pk=session_id, deleted_at__isnull=True).first()
    if session is None:
        raise PersonaSessionNotFound(f"No session with id '{session_id}'.")
    return session


def persona_session_page(
    *, app: App, after: tuple[datetime, str] | None, limit: int
) -> tuple[list[PersonaSession], bool]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page. Returns (rows, more)."""
    sessions = PersonaSession.objects.filter(app=app, deleted_at__isnull=True).order_by("-created_at", "-id")
    if after is not None:
        created_at, row_id = after
        sessions = sessions.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
    page = list(sessions[: limit + 1])
    return page[:limit], len(page) > limit


def preset_list() -> list[dict[str, Any]]:
    """The built-in presets in molroo's shape, each with the emotion config it resolves to."""
    return engine.presets_list()


def persona_state(*, app: App, session_id: str, user_ref: str = "") -> dict[str, Any]:
    """The full state snapshot (molroo's ``GET /state``): emotion, needs, regulation, prompt_data, relationship."""
    session = persona_session_get(app=app, session_id=session_id)
    personality = engine.personality_from_dict(session.persona)
    config = engine.emotion_config_derive(personality, session.config)
    stored = (
        session.relationship
        if not user_ref
        else (
            PersonaRelationship.objects.filter(session=session, user_ref=user_ref)
            .values_list("state", flat=True)
            .first()
        )
    )
    relationship = engine.Relationship.from_dict(stored) if stored else engine.relationship_initial(config)
    return _state_view(personality, engine.EmotionState.from_dict(session.state), relationship, config)


def character_persona_spec(*, character_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The molroo persona body for a character (its CharacterPersona completed from its content)."""
    stored = CharacterPersona.objects.filter(character_id=character_id).values_list("spec", flat=True).first()
    return persona_spec_merge(stored or {}, content)


def character_persona_updated_at(*, character_id: str) -> datetime | None:
    """When the character's persona was last saved (None without one): a session snapshots its persona at its
    first turn, so a session started before this runs the persona as it was."""
    return CharacterPersona.objects.filter(character_id=character_id).values_list("updated_at", flat=True).first()


def character_persona_preview(*, character_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The state a native session with this character starts in (before its first turn), shaped like
    ``persona_state``. Writes nothing."""
    spec = character_persona_spec(character_id=character_id, content=content)
    personality = engine.personality_from_spec(spec)
    config = engine.emotion_config_from_spec(personality, spec)
    state = engine.emotion_state_initial(config)
    return _state_view(personality, state, engine.relationship_initial(config), config)


def _state_view(
    personality: engine.Personality,
    state: engine.EmotionState,
    relationship: engine.Relationship,
    config: engine.EmotionConfig,
) -> dict[str, Any]:
    """molroo's state snapshot: emotion, needs, regulation, relationship and prompt_data."""
    return {
        **state.public_dict(),
        "relationship": relationship.public_dict(),
        "prompt_data": engine.prompt_data_build(personality, state, relationship, config),
    }


def proactive_pending(*, session: PersonaSession) -> list[ProactiveAction]:
    """Actions not yet acknowledged, oldest first."""
    return list(session.proactive_actions.filter(acknowledged_at__isnull=True).order_by("created_at", "id"))


def prompt_data_with_context(prompt_data: dict[str, Any], context: str) -> dict[str, Any]:
    """molroo's ``event_context``/``context``: what just happened, added to the per-turn context block."""
    if not context:
        return prompt_data
    block = prompt_data.get("formatted", {}).get("context_block", "")
    formatted = {**prompt_data.get("formatted", {}), "context_block": f"{block}\n{context}".strip()}
    return {
        **prompt_data,
        "context": {**prompt_data.get("context", {}), "event_context": context},
        "formatted": formatted,
    }


def persona_api_get(*, app: App, persona_id: str, source_entity: str = "") -> PersonaSession:
    """A persona of the persona API (a session with its client's config); PersonaNotFound for unknown ids,
    other apps' personas, deleted ones and sessions of the session API.

    With ``source_entity`` the persona's relationship with that source comes in the same query, as
    ``source_relationship`` (``(row id, state)``, or ``(None, None)`` before they have met): what a perceive
    from that source builds on."""
    # Written out rather than built by the ORM: this is every perceive's read, and building and compiling the
    # queryset (a join or two subqueries) cost more CPU than the statement's own round trip.
    sessions, relationships = PersonaSession._meta.db_table, PersonaRelationship._meta.db_table
    join = f"LEFT JOIN {relationships} r ON r.session_id = s.id AND r.user_ref = %s" if source_entity else ""
    sql = (
        f"SELECT {_PERSONA_ROWS.columns('s')}{', r.id, r.state' if join else ''} "  # noqa: S608
        f"FROM {sessions} s {join} "
        "WHERE s.id = %s AND s.app_id = %s AND s.spec IS NOT NULL AND s.deleted_at IS NULL"
    )
    params = [source_entity, persona_id, app.pk] if join else [persona_id, app.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise PersonaNotFound(f"No persona with id '{persona_id}'.")
    session = _PERSONA_ROWS.instance(row)
    if join:
        relationship_id, state = row[-2:]
        session.source_relationship = (relationship_id, json.loads(state) if isinstance(state, str) else state)
    return session


_PERSONA_ROWS = ModelRows(PersonaSession)


def persona_api_page(*, app: App, after: tuple[datetime, str] | None, limit: int) -> tuple[list[PersonaSession], bool]:
    """The app's personas of the persona API, newest first, as ``persona_session_page`` pages sessions."""
    personas = PersonaSession.objects.filter(app=app, spec__isnull=False, deleted_at__isnull=True)
    if after is not None:
        created_at, row_id = after
        personas = personas.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
    page = list(personas.order_by("-created_at", "-id")[: limit + 1])
    return page[:limit], len(page) > limit


def _relationship_with(session: PersonaSession, source_entity: str, config: engine.EmotionConfig):
    if not source_entity:
        stored = session.relationship
    else:
        rows = PersonaRelationship.objects.filter(session=session, user_ref=source_entity)
        stored = rows.values_list("state", flat=True).first()
    return engine.Relationship.from_dict(stored) if stored else engine.relationship_initial(config)


def persona_api_state(*, session: PersonaSession) -> dict[str, Any]:
    """The persona's state in the fields of the SDK's ``State`` our engine models (see the integrators' note):
    emotion, velocity (the change of the last step), emotion history, body budget, soul stage, needs, affect
    dynamics, regulation; plus the discrete emotion and its intensity."""
    state = engine.EmotionState.from_dict(session.state)
    history = list(session.emotion_history or [])
    velocity = {"V": 0.0, "A": 0.0, "D": 0.0}
    if len(history) >= 2:
        velocity = {axis: round(history[-1][axis] - history[-2][axis], 4) for axis in "VAD"}
    public = state.public_dict()
    regulation = public["regulation"]
    return {
        "emotion": public["emotion"],
        "velocity": velocity,
        "emotion_history": history,
        "body_budget": public["body_budget"],
        "soul_stage": public["soul_stage"],
        "need_state": public["need_state"],
        "affect_dynamics": public["affect_dynamics"],
        "regulation": {"active_strategy": regulation["active_strategy"], "history": regulation["history"]},
        "discrete_emotion": public["discrete_emotion"],
        "emotion_intensity": public["emotion_intensity"],
        "lastUpdated": int(session.updated_at.timestamp() * 1000),
        **_mask_of(session, state),
    }


def _mask_of(session: PersonaSession, state: engine.EmotionState) -> dict[str, float]:
    """``prevMaskIntegrity``: how well a suppressing persona's expression hides what it feels now (after its
    last step); absent for a persona with no mask."""
    config = engine.emotion_config_derive(engine.personality_from_dict(session.persona), session.config)
    integrity = engine.mask_integrity(state, config)
    return {} if integrity is None else {"prevMaskIntegrity": integrity}


def persona_snapshot(*, session: PersonaSession) -> dict[str, Any]:
    """Everything that changes as the persona lives (emotion state, relationships, emotion history), in the form
    ``services.persona_snapshot_restore`` puts back exactly."""
    rows = PersonaRelationship.objects.filter(session=session).order_by("user_ref").values_list("user_ref", "state")
    return {
        "version": 1,
        "state": session.state,
        "relationship": session.relationship,
        "relationships": dict(rows),
        "emotion_history": list(session.emotion_history or []),
    }


def persona_prompt_data(*, session: PersonaSession, source_entity: str = "") -> dict[str, Any]:
    """molroo's ``prompt_data`` for the persona now, toward ``source_entity`` (the same data a character's turn
    prompt is built from)."""
    personality = engine.personality_from_dict(session.persona)
    config = engine.emotion_config_derive(personality, session.config)
    relationship = _relationship_with(session, source_entity, config)
    return engine.prompt_data_build(personality, engine.EmotionState.from_dict(session.state), relationship, config)


def persona_prompt_context(
    *, session: PersonaSession, source_entity: str = "", suffix: str = "", extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The persona API's prompt context: ``systemPrompt`` (identity, personality, goals, emotion and the
    relationship with ``source_entity``, then ``extra`` sections and the caller's ``suffix``) and
    ``promptContext``, its blocks one by one."""
    prompt_data = persona_prompt_data(session=session, source_entity=source_entity)
    prompt = system_prompt_compose(prompt_data=prompt_data, config=session.spec or {}, extra=extra, suffix=suffix)
    return {"systemPrompt": prompt, "promptContext": dict(prompt_data["formatted"])}


__all__ = [
    "character_persona_preview",
    "character_persona_spec",
    "character_persona_updated_at",
    "persona_api_get",
    "persona_api_page",
    "persona_api_state",
    "persona_reflection_prompt",
    "persona_prompt_context",
    "persona_prompt_data",
    "persona_session_get",
    "persona_session_page",
    "persona_snapshot",
    "persona_state",
    "preset_list",
    "proactive_pending",
    "prompt_data_with_context",
    "world_actions",
    "world_events_page",
    "world_get",
    "world_member_get",
    "world_members",
    "world_page",
    "world_relationships",
    "world_scene_sections",
]


def persona_reflection_prompt(
    *, session: PersonaSession, text: str, source_entity: str, state: engine.EmotionState, importance: float
) -> dict[str, str] | None:
    """The SDK's ``reflectionPrompt`` for an episode the persona just recorded, when it matters enough
    (``engine.reflection_prompt``); None otherwise."""
    name = ((session.spec or {}).get("identity") or {}).get("name") or ""
    return engine.reflection_prompt(
        name=name,
        text=text,
        source_entity=source_entity,
        feeling=state.discrete.primary,
        intensity=state.intensity,
        importance=importance,
    )
