"""A persona session's turn: appraise, step the engine, save and announce.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from apps.core import clock
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import engine
from apps.personas.appraisal import message_appraise
from apps.personas.engine.stages import stage_dict
from apps.personas.events import persona_events_emit
from apps.personas.models import PersonaRelationship, PersonaSession
from apps.personas.selectors import persona_session_get, prompt_data_with_context
from apps.personas.services.proactive_actions import (
    next_check_at,
    proactive_actions_create,
    proactive_hint,
    session_event,
)
from apps.personas.services.sessions import session_locked
from apps.personas.types import PersonaTurn, PersonaTurnPreview

if TYPE_CHECKING:
    from apps.accounts.models import App


def _relationship_of(
    session: PersonaSession, user_ref: str, config: engine.EmotionConfig, trust: float | None = None
) -> tuple[PersonaRelationship | None, engine.Relationship]:
    """The relationship with ``user_ref``: the session's own end-user's lives on the session row (None row),
    another named end-user's in its own row, which is only written by the turn that wins the session's
    conditional UPDATE, so it is read and written by one turn at a time. A first meeting starts at ``trust``
    when the caller knows it (the persona API's ``relationshipContext``), else at the config's."""
    initial = engine.relationship_initial(config)
    if trust is not None:
        initial = engine.Relationship(trust=trust, attachment_style=initial.attachment_style, bond=initial.bond)
    if not user_ref:
        state = session.relationship
        return None, engine.Relationship.from_dict(state) if state else initial
    preloaded = getattr(session, "source_relationship", None)  # read with the session (persona_api_get)
    if preloaded is not None:
        row_id, state = preloaded
        session.source_relationship = None  # valid for the row as read only: a retry under the lock reads again
        if row_id is None:
            return PersonaRelationship(session=session, user_ref=user_ref, state=initial.to_dict()), initial
        return PersonaRelationship(pk=row_id, session=session, user_ref=user_ref), engine.Relationship.from_dict(state)
    row = PersonaRelationship.objects.filter(session=session, user_ref=user_ref).first()
    if row is None:
        return PersonaRelationship(session=session, user_ref=user_ref, state=initial.to_dict()), initial
    return row, engine.Relationship.from_dict(row.state)


EMOTION_HISTORY = 16  # emotions kept on the session (the persona API's State.emotion_history)


def emotion_history_after(history: list[dict[str, Any]], vad: engine.VAD, now: datetime) -> list[dict[str, Any]]:
    """``history`` with the emotion ``vad`` of ``now`` appended (milliseconds since the epoch), the newest kept."""
    entry = {**vad.to_dict(), "timestamp": int(now.timestamp() * 1000)}
    return [*history, entry][-EMOTION_HISTORY:]


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
    trust_initial: float | None = None,
    goal_event: str | None = None,
) -> PersonaTurn:
    """Apply one event to the session's emotion state; return the engine's TurnResult with prompt_data.

    ``loaded`` is the session's row when the caller already read it (a native turn loads it with its run):
    the turn then costs one conditional UPDATE when no other turn saved since that read.

    The event is appraised from ``message`` by ``appraisal.message_appraise`` (the LLM when one is
    configured, else the offline lexicon) unless ``appraisal`` (molroo's six dimensions) is given.
    ``elapsed_seconds`` defaults to the time since the session's last turn and drives decay toward the
    baseline first. ``trust_initial`` is where trust starts when the persona meets ``user_ref`` for the first
    time (the persona API's ``relationshipContext``). With ``goal_event`` (the persona API's event text) the
    persona's goals follow the event and its mask is checked (``PersonaTurn.dynamics``). Emits ``turn_result``, and
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
                session = session_locked(app, session_id)
            outcome = _turn_apply(
                session,
                personality,
                config,
                vector,
                elapsed_seconds,
                context,
                user_ref,
                origin,
                trust_initial,
                goal_event,
            )
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
    trust_initial: float | None = None,
    goal_event: str | None = None,
) -> PersonaTurn | None:
    """Step ``session`` as read and save it only if no other turn saved in between (None if one did); then
    announce the turn and what it set off."""
    now = clock.now()
    row, relationship = _relationship_of(session, user_ref, config, trust_initial)
    state = engine.EmotionState.from_dict(session.state)
    elapsed = _elapsed(session, elapsed_seconds, now)
    result = engine.emotion_step(state, vector, config, personality, relationship, elapsed)
    dynamics: dict[str, Any] = {}
    spec_changes: dict[str, Any] = {}
    if goal_event is not None:
        goals, changed = engine.goals_after_event((session.spec or {}).get("goals") or [], vector, goal_event)
        if changed:
            dynamics["goalChanges"] = changed
            spec_changes["spec"] = {**session.spec, "goals": goals}
        exposure = engine.mask_exposure(state, result.state, config)
        if exposure:
            dynamics["maskExposure"] = exposure
    saved = _turn_save(session, row, result, now, spec_changes)
    if saved is None:
        return None
    prompt_data = prompt_data_with_context(
        engine.prompt_data_build(personality, result.state, result.relationship, config), context
    )
    public = result.to_dict()
    events = _step_events(session, result, public, config)
    events += proactive_actions_create(session, idle_seconds=0.0, relationship=saved)
    outcome = PersonaTurn(session, result, prompt_data, proactive_hint(session, result.relationship, now), dynamics)
    # The turn_result event carries the whole outcome (sockets push it to the session's other clients), in the
    # persona event format: the engine's result fields, the proactive hint and the prompt data.
    turn_data = {**public, "proactive_hint": outcome.proactive_hint, "prompt_data": prompt_data}
    events.insert(0, session_event(session, "turn_result", turn_data, origin=origin))
    persona_events_emit(events)
    return outcome


def _turn_save(
    session: PersonaSession,
    row: PersonaRelationship | None,
    result: engine.TurnResult,
    now: datetime,
    extra: dict[str, Any] | None = None,
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
        "emotion_history": emotion_history_after(session.emotion_history, result.state.vad, now),
        "updated_at": now,
        **(extra or {}),
    }
    if session.proactive_enabled:
        changes["proactive_next_check_at"] = next_check_at(session, relationship, now)
    if row is None:
        changes["relationship"] = relationship
    known = row if row is not None and row.pk is not None else None
    saved, related = _session_update(session, changes, known, relationship, now)
    if not saved:
        return None
    for name, value in changes.items():
        setattr(session, name, value)
    if row is not None and row.pk is None:
        row.state = relationship
        row.save()
    elif known is not None and not related:
        PersonaRelationship.objects.filter(pk=known.pk).update(state=relationship, updated_at=now)
    return relationship


def _session_update(
    session: PersonaSession,
    changes: dict[str, Any],
    row: PersonaRelationship | None,
    relationship: dict[str, Any],
    now: datetime,
) -> tuple[bool, bool]:
    """The turn's conditional UPDATE of the session, written out: every turn runs it, and the ORM's building
    and compiling of it cost more CPU than its round trip. On PostgreSQL an existing relationship row is
    updated in the same statement (a data-modifying CTE that runs only when the session's UPDATE matched).
    Returns (the session was saved, the relationship row was saved with it)."""
    meta = PersonaSession._meta
    fields = [meta.get_field(name) for name in changes]
    quote = connection.ops.quote_name
    update = (
        f"UPDATE {meta.db_table} SET {', '.join(f'{quote(field.column)} = %s' for field in fields)} "  # noqa: S608
        "WHERE id = %s AND turn_count = %s"
    )
    params = [field.get_db_prep_save(changes[field.name], connection) for field in fields]
    params += [session.pk, session.turn_count]
    with connection.cursor() as cursor:
        if row is None or connection.vendor != "postgresql":
            cursor.execute(update, params)
            return cursor.rowcount == 1, False
        rows = PersonaRelationship._meta
        state = rows.get_field("state").get_db_prep_save(relationship, connection)
        stamp = rows.get_field("updated_at").get_db_prep_save(now, connection)
        cursor.execute(
            f"WITH turned AS ({update} RETURNING 1), related AS (UPDATE {rows.db_table} "  # noqa: S608
            "SET state = %s, updated_at = %s WHERE id = %s AND EXISTS (SELECT 1 FROM turned)) "
            "SELECT count(*) FROM turned",
            [*params, state, stamp, row.pk],
        )
        saved = cursor.fetchone()[0] == 1
        return saved, saved


def _step_events(
    session: PersonaSession, result: engine.TurnResult, public: dict[str, Any], config: engine.EmotionConfig
) -> list[dict[str, Any]]:
    """The events the step itself raises: ``stage_transition`` and ``emotional_overflow``."""
    events = []
    if result.stage_transition:
        transition = {"from": stage_dict(result.previous_stage), "to": public["soul_stage"]}
        events.append(session_event(session, "stage_transition", transition))
    if result.emotional_overflow:
        overflow = {
            "emotion_intensity": public["emotion_intensity"],
            "threshold": config.overflow_threshold,
            "discrete_emotion": public["discrete_emotion"],
        }
        events.append(session_event(session, "emotional_overflow", overflow))
    return events
