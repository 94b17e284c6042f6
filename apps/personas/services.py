"""Writes for persona sessions: create, turn, delete, proactive preferences and actions.

A turn reads the session, appraises the message (the LLM appraiser may take a while, so no lock is held
then), applies the engine step and saves state, relationship and events in one transaction whose UPDATE
only succeeds if no other turn saved meanwhile; a turn that lost that race does it again under the row
lock. Concurrent turns on one session thus serialise and none is lost, and a failed turn changes nothing.

A native conversation turns in two halves around its reply: ``persona_turn_preview`` (before the reply call,
no lock, writes nothing) gives the prompt data for the state the message leads to, and
``persona_turn_commit`` (inside the reply's transaction) applies that appraisal to the session as it is then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.core import clock
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import engine
from apps.personas.appraisal import message_appraise
from apps.personas.engine.stages import stage_dict
from apps.personas.errors import PersonaSessionNotFound, ProactiveActionNotFound
from apps.personas.events import persona_event, persona_events_emit
from apps.personas.models import PersonaRelationship, PersonaSession, ProactiveAction
from apps.personas.selectors import (
    character_persona_spec,
    persona_session_get,
    proactive_pending,
    prompt_data_with_context,
)
from apps.personas.triggers import RECHECK_MIN_SECONDS, TRIGGERS, attachment_wait_seconds, proactive_candidates
from apps.personas.types import PersonaTurn, PersonaTurnPreview

if TYPE_CHECKING:
    from apps.accounts.models import App

TRIGGERS_DEFAULT = {name: True for name in TRIGGERS}


def persona_session_create(*, app: App, spec: Mapping[str, Any]) -> PersonaSession:
    """Resolve a molroo persona body (a ``preset`` and/or custom fields; custom fields win) into a new session.

    Raises the engine's UnknownPreset and EngineInputInvalid; nothing is written then.
    """
    personality = engine.personality_from_spec(spec)
    config = engine.emotion_config_from_spec(personality, spec)
    state = engine.emotion_state_initial(config)
    return PersonaSession.objects.create(
        app=app,
        preset=personality.preset or "",
        persona=personality.to_dict(),
        config=config.to_dict(),
        state=state.to_dict(),
        proactive_preferences={"triggers": dict(TRIGGERS_DEFAULT)},
    )


def character_persona_session_create(*, app: App, character_id: str, content: Mapping[str, Any]) -> PersonaSession:
    """A new emotion session for a native conversation with this character (its persona, completed from the
    character version's ``content``)."""
    return persona_session_create(app=app, spec=character_persona_spec(character_id=character_id, content=content))


def persona_session_discard(*, app: App, session_id: str) -> None:
    """Delete a session nobody has used (one created for a native conversation that another worker linked
    first). Unlike ``persona_session_delete`` it announces nothing: no one was ever told of the session."""
    PersonaSession.objects.filter(app=app, pk=session_id).delete()


def persona_session_delete(*, app: App, session_id: str) -> None:
    """Delete the session and everything hanging off it (relationships, proactive actions, and through the
    ``session_deleted`` event its webhooks). Other apps' ids 404."""
    with transaction.atomic():
        deleted, _ = PersonaSession.objects.filter(app=app, pk=session_id).delete()
        if not deleted:
            raise PersonaSessionNotFound(f"No session with id '{session_id}'.")
        persona_events_emit([persona_event(type="session_deleted", app_id=app.pk, session_id=session_id, data={})])


def persona_session_stream_token_issue(*, app: App, session_id: str) -> accounts_services.IssuedStreamToken:
    """A short-lived token that opens this session's WebSocket from a browser (``?token=``).

    Raises PersonaSessionNotFound for unknown ids and for another app's sessions. Writes nothing.
    """
    session = persona_session_get(app=app, session_id=session_id)
    return accounts_services.stream_token_issue(app=app, session_id=session.id, kind="persona")


def _locked(app: App, session_id: str) -> PersonaSession:
    session = PersonaSession.objects.select_for_update().filter(app=app, pk=session_id).first()
    if session is None:
        raise PersonaSessionNotFound(f"No session with id '{session_id}'.")
    return session


def _relationship_of(
    session: PersonaSession, user_ref: str, config: engine.EmotionConfig
) -> tuple[PersonaRelationship | None, engine.Relationship]:
    """The relationship with ``user_ref``: the session's own end-user's lives on the session row (None row),
    another named end-user's in its own row, which is only written by the turn that wins the session's
    conditional UPDATE, so it is read and written by one turn at a time."""
    if not user_ref:
        state = session.relationship
        return None, engine.Relationship.from_dict(state) if state else engine.relationship_initial(config)
    row = PersonaRelationship.objects.filter(session=session, user_ref=user_ref).first()
    if row is None:
        initial = engine.relationship_initial(config)
        return PersonaRelationship(session=session, user_ref=user_ref, state=initial.to_dict()), initial
    return row, engine.Relationship.from_dict(row.state)


def _elapsed(session: PersonaSession, given: float | None, now: datetime) -> float:
    if given is not None:
        return float(given)
    if session.last_turn_at is None:
        return 0.0
    return max(0.0, (now - session.last_turn_at).total_seconds())


def _persona_of(session: PersonaSession) -> tuple[engine.Personality, engine.EmotionConfig]:
    """The session's personality and emotion config, rebuilt from their stored form."""
    personality = engine.personality_from_dict(session.persona)  # a persona never changes after creation
    return personality, engine.emotion_config_derive(personality, session.config)


def persona_turn_preview(
    *,
    session: PersonaSession,
    message: str,
    before_call: Callable[[ModelSpec, list[ChatMessage]], None] | None = None,
) -> PersonaTurnPreview:
    """The emotion ``message`` leads to from ``session`` as read (with its own end-user), not applied.

    ``message`` is appraised like ``persona_turn``'s; an empty one (a turn the character starts) is not an
    event: the preview is then the state decayed by the time since the last turn, with nothing to commit.
    ``before_call(spec, messages)`` runs just before a model appraisal (a metered caller reserves its
    credits there; what it raises propagates and no call is made). Writes nothing.
    """
    personality, config = _persona_of(session)
    _, relationship = _relationship_of(session, "", config)
    state = engine.EmotionState.from_dict(session.state)
    elapsed = _elapsed(session, None, clock.now())
    if not message:
        state = engine.emotion_decay(state, config, elapsed)
        return PersonaTurnPreview(session, engine.prompt_data_build(personality, state, relationship, config), None)
    outcome = message_appraise(text=message, personality=personality, before_call=before_call)
    result = engine.emotion_step(state, outcome.appraisal, config, personality, relationship, elapsed)
    prompt_data = engine.prompt_data_build(personality, result.state, result.relationship, config)
    call = outcome if outcome.model is not None else None
    return PersonaTurnPreview(session, prompt_data, outcome.appraisal.to_dict(), outcome.source, call)


def persona_turn_commit(*, app: App, preview: PersonaTurnPreview, origin: str | None = None) -> PersonaTurn | None:
    """Apply a preview's appraisal to its session as it is now; None when the preview had no message.

    Call inside the caller's transaction (the emotion commits or rolls back with it): one conditional UPDATE
    when no other turn changed the session since the preview read it, else the turn is redone under the row
    lock. Raises like ``persona_turn`` (e.g. PersonaSessionNotFound when the session was deleted meanwhile).
    """
    if preview.appraisal is None:
        return None
    session = preview.session
    return persona_turn(app=app, session_id=session.pk, appraisal=preview.appraisal, origin=origin, loaded=session)


def persona_turn(
    *,
    app: App,
    session_id: str,
    message: str | None = None,
    appraisal: Mapping[str, float] | None = None,
    source: str = "user",
    elapsed_seconds: float | None = None,
    context: str = "",
    user_ref: str = "",
    origin: str | None = None,
    loaded: PersonaSession | None = None,
) -> PersonaTurn:
    """Apply one event to the session's emotion state; return the engine's TurnResult with prompt_data.

    ``loaded`` is the session's row when the caller already read it (a native turn loads it with its run):
    the turn then costs one conditional UPDATE when no other turn saved since that read.

    The event is appraised from ``message`` by ``appraisal.message_appraise`` (the LLM when one is
    configured, else the offline lexicon) unless ``appraisal`` (molroo's six dimensions) is given.
    ``elapsed_seconds`` defaults to the time since the session's last turn and drives decay toward the
    baseline first. Emits ``turn_result``, and
    ``stage_transition`` / ``emotional_overflow`` / ``proactive_action`` when they happen. Raises
    PersonaSessionNotFound (also for other apps' ids) and EngineInputInvalid; nothing is written then.
    """
    session = loaded if loaded is not None else persona_session_get(app=app, session_id=session_id)
    personality, config = _persona_of(session)
    if appraisal is not None:
        vector = engine.Appraisal.from_dict(appraisal)
    else:  # the LLM appraiser may take seconds: appraise before writing anything
        vector = message_appraise(text=message or "", personality=personality, context=context).appraisal
    for contended in (False, True):
        # Inside a caller's transaction (a native turn) the first try needs no savepoint: it reads nothing and
        # its one UPDATE either matches or not; the retry under the lock takes one.
        with transaction.atomic(savepoint=contended):
            if contended:  # another turn got in first: this time take the row lock and build on its state
                session = _locked(app, session_id)
            outcome = _turn_apply(session, personality, config, vector, elapsed_seconds, context, user_ref, origin)
            if outcome is not None:
                return outcome
    raise AssertionError("a turn under the session's row lock cannot lose the race")  # pragma: no cover


def _turn_apply(
    session: PersonaSession,
    personality: engine.Personality,
    config: engine.EmotionConfig,
    vector: engine.Appraisal,
    elapsed_seconds: float | None,
    context: str,
    user_ref: str,
    origin: str | None,
) -> PersonaTurn | None:
    """Step ``session`` as read and save it only if no other turn saved in between (None if one did); then
    announce the turn and what it set off."""
    now = clock.now()
    row, relationship = _relationship_of(session, user_ref, config)
    state = engine.EmotionState.from_dict(session.state)
    elapsed = _elapsed(session, elapsed_seconds, now)
    result = engine.emotion_step(state, vector, config, personality, relationship, elapsed)
    saved = _turn_save(session, row, result, now)
    if saved is None:
        return None
    prompt_data = prompt_data_with_context(
        engine.prompt_data_build(personality, result.state, result.relationship, config), context
    )
    public = result.to_dict()
    events = _step_events(session, result, public, config)
    events += _proactive_actions_create(session, idle_seconds=0.0, relationship=saved)
    outcome = PersonaTurn(session, result, prompt_data, _proactive_hint(session, result.relationship, now))
    # The turn_result event carries the whole outcome (sockets push it to the session's other clients), in the
    # persona event format: the engine's result fields, the proactive hint and the prompt data.
    turn_data = {**public, "proactive_hint": outcome.proactive_hint, "prompt_data": prompt_data}
    events.insert(0, _event(session, "turn_result", turn_data, origin=origin))
    persona_events_emit(events)
    return outcome


def _turn_save(
    session: PersonaSession, row: PersonaRelationship | None, result: engine.TurnResult, now: datetime
) -> dict[str, Any] | None:
    """Save the step: one UPDATE conditioned on the ``turn_count`` read with ``session``, then the named
    end-user's relationship row. Returns the relationship as saved, or None (nothing written) when another
    turn saved first: the winner holds the row until it commits, so a concurrent loser's UPDATE waits, then
    matches nothing and the loser retries under the lock."""
    relationship = result.relationship.to_dict()
    changes: dict[str, Any] = {
        "state": result.state.to_dict(),
        "turn_count": session.turn_count + 1,
        "last_turn_at": now,
        "updated_at": now,
    }
    if session.proactive_enabled:
        changes["proactive_next_check_at"] = _next_check(session, relationship, now)
    if row is None:
        changes["relationship"] = relationship
    saved = PersonaSession.objects.filter(pk=session.pk, turn_count=session.turn_count).update(**changes)
    if not saved:
        return None
    for name, value in changes.items():
        setattr(session, name, value)
    if row is not None:
        row.state = relationship
        row.save()
    return relationship


def _step_events(
    session: PersonaSession, result: engine.TurnResult, public: dict[str, Any], config: engine.EmotionConfig
) -> list[dict[str, Any]]:
    """The events the step itself raises: ``stage_transition`` and ``emotional_overflow``."""
    events = []
    if result.stage_transition:
        transition = {"from": stage_dict(result.previous_stage), "to": public["soul_stage"]}
        events.append(_event(session, "stage_transition", transition))
    if result.emotional_overflow:
        overflow = {
            "emotion_intensity": public["emotion_intensity"],
            "threshold": config.overflow_threshold,
            "discrete_emotion": public["discrete_emotion"],
        }
        events.append(_event(session, "emotional_overflow", overflow))
    return events


def _event(session: PersonaSession, type: str, data: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
    return persona_event(type=type, app_id=session.app_id, session_id=session.pk, data=data, origin=origin)


def _next_check(session: PersonaSession, relationship: dict[str, Any], now: datetime) -> datetime:
    """When the sweep should look again: once the persona's tolerance of absence has run out."""
    wait = attachment_wait_seconds(relationship=relationship, config=session.config)
    return now + timedelta(seconds=max(wait, RECHECK_MIN_SECONDS))


def _proactive_hint(session: PersonaSession, relationship: engine.Relationship, now: datetime) -> dict[str, Any]:
    """When the persona would next reach out by itself, and what it already wants to (only when enabled)."""
    if not session.proactive_enabled:
        return {"enabled": False, "next_check_at": None, "pending_actions": []}
    pending = list(session.proactive_actions.filter(acknowledged_at__isnull=True).values("id", "type", "priority"))
    next_check = session.proactive_next_check_at or _next_check(session, relationship.to_dict(), now)
    return {"enabled": True, "next_check_at": next_check.isoformat().replace("+00:00", "Z"), "pending_actions": pending}


def _proactive_actions_create(
    session: PersonaSession, *, idle_seconds: float, relationship: dict[str, Any]
) -> list[dict[str, Any]]:
    """Create the proactive actions now due (when enabled; at most one pending per type); their events."""
    if not session.proactive_enabled:
        return []
    triggers = {**TRIGGERS_DEFAULT, **session.proactive_preferences.get("triggers", {})}
    pending = set(session.proactive_actions.filter(acknowledged_at__isnull=True).values_list("type", flat=True))
    candidates = proactive_candidates(
        state=session.state,
        relationship=relationship,
        config=session.config,
        idle_seconds=idle_seconds,
        triggers=triggers,
        exclude=pending,
    )
    events = []
    for candidate in candidates:
        action = ProactiveAction.objects.create(session=session, **candidate)
        events.append(
            _event(
                session,
                "proactive_action",
                {
                    "id": action.id,
                    "type": action.type,
                    "message": action.message,
                    "priority": action.priority,
                    "metadata": action.metadata,
                },
            )
        )
    return events


def persona_proactive_check(*, app: App, session_id: str) -> list[ProactiveAction]:
    """Evaluate the time-driven triggers now (absence, unmet needs) and return the pending actions, oldest first."""
    now = clock.now()
    with transaction.atomic():
        session = _locked(app, session_id)
        idle = (now - (session.last_turn_at or session.created_at)).total_seconds()
        persona_events_emit(_proactive_actions_create(session, idle_seconds=idle, relationship=session.relationship))
    return proactive_pending(session=session)


def persona_proactive_sweep(*, limit: int = 500) -> int:
    """Evaluate the triggers of up to ``limit`` proactive sessions that are due; return the actions created.

    Run periodically (beat, or the embedded scheduler). Due rows are claimed with SKIP LOCKED, so
    concurrent sweeps and turns never wait on each other, and each swept session's next check moves
    forward by its tolerance of absence.
    """
    now = clock.now()
    with transaction.atomic():
        due = list(
            PersonaSession.objects.select_for_update(skip_locked=True)
            .filter(proactive_enabled=True, proactive_next_check_at__lte=now)
            .order_by("proactive_next_check_at")[:limit]
        )
        events: list[dict[str, Any]] = []
        for session in due:
            idle = (now - (session.last_turn_at or session.created_at)).total_seconds()
            events += _proactive_actions_create(session, idle_seconds=idle, relationship=session.relationship)
            session.proactive_next_check_at = _next_check(session, session.relationship, now)
        PersonaSession.objects.bulk_update(due, ["proactive_next_check_at"])
        persona_events_emit(events)
    return len(events)


def persona_proactive_preferences_update(
    *, app: App, session_id: str, enabled: bool | None = None, triggers: Mapping[str, bool] | None = None
) -> PersonaSession:
    with transaction.atomic():
        session = _locked(app, session_id)
        if enabled is not None:
            session.proactive_enabled = enabled
            now = clock.now()
            session.proactive_next_check_at = _next_check(session, session.relationship, now) if enabled else None
        if triggers is not None:
            current = {**TRIGGERS_DEFAULT, **session.proactive_preferences.get("triggers", {})}
            session.proactive_preferences = {**session.proactive_preferences, "triggers": {**current, **triggers}}
        session.save(
            update_fields=["proactive_enabled", "proactive_preferences", "proactive_next_check_at", "updated_at"]
        )
    return session


def proactive_action_acknowledge(*, app: App, session_id: str, action_id: str) -> None:
    """Mark a pending action handled (the WebSocket ``ack``); acknowledging twice is harmless."""
    found = ProactiveAction.objects.filter(pk=action_id, session_id=session_id, session__app=app).exists()
    if not found:
        raise ProactiveActionNotFound(f"No proactive action with id '{action_id}'.")
    ProactiveAction.objects.filter(pk=action_id, acknowledged_at__isnull=True).update(acknowledged_at=clock.now())
