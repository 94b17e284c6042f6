"""The persona API (molroo SDK 0.7's ``/personas``): personas are emotion sessions with the SDK's config.

A persona of this API is a ``PersonaSession`` whose ``spec`` holds the config its client sent; its emotion,
relationships and events are the session's, stepped by the same engine and announced the same way
(``stage_transition``, ``emotional_overflow``). Deleting one only marks it (``deleted_at``): it answers 404
from then on and can be restored for ``PERSONA_RETENTION`` (``persona_restore``), after which
``personas_deleted_purge`` removes it for good.

``perceive`` comes in two halves so that a model appraisal runs outside any transaction, with its credits
reserved (and committed) before the call: ``persona_perceive_appraise`` (reads, may call the model, writes
nothing) and ``persona_perceive_apply`` (inside the caller's transaction, which also records the episode).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.core import clock
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import engine
from apps.personas.appraisal import message_appraise
from apps.personas.engine.stages import stage_dict
from apps.personas.errors import PersonaNotFound
from apps.personas.events import persona_events_emit
from apps.personas.models import PersonaRelationship, PersonaSession, World
from apps.personas.persona_config import persona_config_merge, persona_spec_from_config
from apps.personas.selectors import persona_api_get
from apps.personas.services.proactive_actions import session_event
from apps.personas.services.sessions import persona_session_create
from apps.personas.services.turns import emotion_history_after, persona_turn
from apps.personas.types import PerceiveAppraisal, PersonaTick, PersonaTurn

if TYPE_CHECKING:
    from apps.accounts.models import App

PERSONA_RETENTION = timedelta(days=30)
NEED_DEFICIT_BELOW = 0.35  # a need under this after a tick is an internal event
SNAPSHOT_VERSION = 1


def persona_create(*, app: App, config: Mapping[str, Any]) -> PersonaSession:
    """A new persona from the SDK's config. Raises EngineInputInvalid (bad traits, named by path); nothing is
    written then."""
    return persona_session_create(app=app, spec=persona_spec_from_config(config), sent=config)


def _locked(app: App, persona_id: str, *, deleted: bool = False) -> PersonaSession:
    session = (
        PersonaSession.objects.select_for_update()
        .filter(app=app, pk=persona_id, spec__isnull=False, deleted_at__isnull=not deleted)
        .first()
    )
    if session is None:
        raise PersonaNotFound(f"No persona with id '{persona_id}'.")
    return session


@transaction.atomic
def persona_update(*, app: App, persona_id: str, updates: Mapping[str, Any]) -> PersonaSession:
    """Change the persona's config (``personality`` and ``identity`` field by field, ``goals`` whole). The
    personality and its emotion dynamics are resolved again; the current emotion stays where it is."""
    session = _locked(app, persona_id)
    config = persona_config_merge(session.spec, updates)
    personality = engine.personality_from_spec(persona_spec_from_config(config))
    session.spec = config
    session.persona = personality.to_dict()
    session.config = engine.emotion_config_from_spec(personality, {}).to_dict()
    session.save(update_fields=["spec", "persona", "config", "updated_at"])
    return session


def persona_delete(*, app: App, persona_id: str) -> None:
    """Mark the persona deleted: 404 from now on, restorable for ``PERSONA_RETENTION``."""
    marked = PersonaSession.objects.filter(app=app, pk=persona_id, spec__isnull=False, deleted_at__isnull=True).update(
        deleted_at=clock.now(), proactive_enabled=False, proactive_next_check_at=None
    )
    if not marked:
        raise PersonaNotFound(f"No persona with id '{persona_id}'.")


def persona_restore(*, app: App, persona_id: str) -> PersonaSession:
    """Undo a delete within the retention window. Raises PersonaNotFound when the persona is not deleted (or
    unknown, or another app's, or past retention)."""
    now = clock.now()
    restored = PersonaSession.objects.filter(
        app=app, pk=persona_id, spec__isnull=False, deleted_at__gte=now - PERSONA_RETENTION
    ).update(deleted_at=None, updated_at=now)
    if not restored:
        raise PersonaNotFound(f"No deleted persona with id '{persona_id}' to restore.")
    return persona_api_get(app=app, persona_id=persona_id)


def personas_deleted_purge() -> int:
    """Delete, for good, the personas and worlds deleted longer than ``PERSONA_RETENTION`` ago; return how many
    personas."""
    cutoff = clock.now() - PERSONA_RETENTION
    World.objects.filter(deleted_at__lt=cutoff).delete()
    deleted, _ = PersonaSession.objects.filter(deleted_at__lt=cutoff).delete()
    return deleted


def persona_perceive_appraise(
    *,
    app: App,
    persona_id: str,
    message: str,
    appraisal: Mapping[str, float] | None = None,
    source_entity: str = "",
    stimulus: Mapping[str, Any] | None = None,
    prior_episodes: Sequence[Mapping[str, Any]] = (),
    now_ms: float | None = None,
    before_call: Callable[[ModelSpec, list[ChatMessage]], None] | None = None,
) -> PerceiveAppraisal:
    """How the persona appraises an event: the given vector (molroo's six dimensions, no model call), or the
    message and the ``stimulus``'s description appraised by the configured appraiser (the lexicon offline, else
    the model; ``before_call`` runs just before a model call), its relevance scaled by the stimulus's
    intensity. Either way ``prior_episodes`` (the SDK's recalled episodes) then make a recurring event more
    expected, a recurring pleasure duller and a recurring hurt sharper (``engine.appraisal_recalled``).
    Reads the persona, with its relationship with ``source_entity``; writes nothing."""
    session = persona_api_get(app=app, persona_id=persona_id, source_entity=source_entity)
    call = None
    if appraisal is not None:
        vector, source = engine.Appraisal.from_dict(appraisal), "supplied"
    else:
        personality = engine.personality_from_dict(session.persona)
        text = engine.stimulus_text(message, stimulus)
        outcome = message_appraise(text=text, personality=personality, before_call=before_call)
        vector = engine.appraisal_intensified(outcome.appraisal, (stimulus or {}).get("intensity"))
        source, call = outcome.source, outcome if outcome.model else None
    episodes = [engine.PriorEpisode.from_wire(episode) for episode in prior_episodes]
    now = now_ms if now_ms is not None else clock.now().timestamp() * 1000
    vector, familiar = engine.appraisal_recalled(vector, episodes, source_entity, now)
    return PerceiveAppraisal(session, vector, source, call, engine.stimulus_text(message, stimulus), familiar)


def persona_perceive_apply(
    *,
    app: App,
    appraised: PerceiveAppraisal,
    source_entity: str = "",
    trust_initial: float | None = None,
) -> PersonaTurn:
    """Apply an appraised event to the persona as it is now (inside the caller's transaction), as a turn with
    ``source_entity`` (each source has its own relationship). Announces ``stage_transition`` and
    ``emotional_overflow`` like every turn. The persona's goals follow the event (its text names the goals it
    bears on; achieved and blocked goals are saved with the turn) and a suppressing persona's mask
    is checked: both in the turn's ``dynamics``."""
    session = appraised.session
    return persona_turn(
        app=app,
        session_id=session.pk,
        appraisal=appraised.appraisal.to_dict(),
        user_ref=source_entity,
        loaded=session,
        trust_initial=trust_initial,
        goal_event=appraised.text,
    )


def _state_save(session: PersonaSession, state: engine.EmotionState, **changes: Any) -> None:
    now = clock.now()
    session.state = state.to_dict()
    session.emotion_history = emotion_history_after(session.emotion_history, state.vad, now)
    session.last_turn_at = now
    session.turn_count += 1  # fences a turn that read the persona before: it redoes itself under the lock
    for name, value in changes.items():
        setattr(session, name, value)
    fields = ["state", "emotion_history", "last_turn_at", "turn_count", "updated_at", *changes]
    session.save(update_fields=fields)


@transaction.atomic
def persona_tick(*, app: App, persona_id: str, seconds: float) -> PersonaTick:
    """Let ``seconds`` pass without events: the emotion decays toward its baseline, the body budget refills,
    needs drift. Returns the internal events that raised: a stage transition (announced like a turn's) and
    needs that fell into deficit."""
    session = _locked(app, persona_id)
    personality = engine.personality_from_dict(session.persona)
    config = engine.emotion_config_derive(personality, session.config)
    before = engine.EmotionState.from_dict(session.state)
    after = engine.emotion_decay(before, config, seconds)
    events: list[dict[str, Any]] = []
    if after.stage != before.stage:
        transition = {"from": stage_dict(before.stage), "to": stage_dict(after.stage)}
        events.append({"type": "stage_transition", **transition})
        persona_events_emit([session_event(session, "stage_transition", transition)])
    for need, value in after.needs.to_dict().items():
        if value < NEED_DEFICIT_BELOW:
            events.append({"type": "need_deficit", "need": need, "value": value})
    _state_save(session, after)
    return PersonaTick(session, tuple(events))


@transaction.atomic
def persona_emotion_set(*, app: App, persona_id: str, vad: Mapping[str, float]) -> PersonaSession:
    """Put the persona's emotion at ``vad`` (``V``, ``A``, ``D``; an omitted one stays)."""
    session = _locked(app, persona_id)
    personality = engine.personality_from_dict(session.persona)
    config = engine.emotion_config_derive(personality, session.config)
    state = engine.EmotionState.from_dict(session.state)
    current = state.vad
    target = engine.VAD(vad.get("V", current.V), vad.get("A", current.A), vad.get("D", current.D))
    _state_save(session, engine.emotion_set(state, config, target))
    return session


def _snapshot_parts(snapshot: Mapping[str, Any]) -> tuple[dict, dict, dict[str, dict], list]:
    """A snapshot's parts, normalised by the engine (which names what is malformed)."""
    if not isinstance(snapshot, Mapping) or snapshot.get("version") != SNAPSHOT_VERSION:
        raise engine.EngineInputInvalid({"snapshot.version": [f"Must be {SNAPSHOT_VERSION}."]})
    state = engine.EmotionState.from_dict(snapshot.get("state") or {}).to_dict()
    raw = snapshot.get("relationship")
    relationship = engine.Relationship.from_dict(raw).to_dict() if raw else {}
    others = snapshot.get("relationships") or {}
    history = snapshot.get("emotion_history") or []
    if not isinstance(others, Mapping) or not all(isinstance(key, str) and key for key in others):
        raise engine.EngineInputInvalid({"snapshot.relationships": ["Must map source entities to relationships."]})
    if not isinstance(history, list) or not all(
        isinstance(item, Mapping)
        and all(isinstance(item.get(key), int | float) and not isinstance(item.get(key), bool) for key in "VAD")
        for item in history
    ):
        raise engine.EngineInputInvalid({"snapshot.emotion_history": ["Must be a list of {V, A, D, timestamp}."]})
    rows = {key: engine.Relationship.from_dict(value).to_dict() for key, value in others.items()}
    kept = [
        {"V": item["V"], "A": item["A"], "D": item["D"], "timestamp": item.get("timestamp")} for item in history[-16:]
    ]
    return state, relationship, rows, kept


@transaction.atomic
def persona_snapshot_restore(*, app: App, persona_id: str, snapshot: Mapping[str, Any]) -> PersonaSession:
    """Put a snapshot (``selectors.persona_snapshot``) back: the emotion state, the relationships and the
    emotion history become exactly the snapshot's. Raises EngineInputInvalid for a malformed one (nothing
    written)."""
    state, relationship, rows, history = _snapshot_parts(snapshot)
    session = _locked(app, persona_id)
    session.state = state
    session.relationship = relationship
    session.emotion_history = history
    session.turn_count += 1  # fences a turn that read the persona before: it redoes itself under the lock
    session.save(update_fields=["state", "relationship", "emotion_history", "turn_count", "updated_at"])
    PersonaRelationship.objects.filter(session=session).delete()
    PersonaRelationship.objects.bulk_create(
        PersonaRelationship(session=session, user_ref=key, state=value) for key, value in rows.items()
    )
    return session
