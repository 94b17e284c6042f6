"""The character's emotion in a native conversation.

Each session gets an emotion session (``personas.PersonaSession``) from its character's persona and
``emotion_baseline`` at its first turn. A turn then runs in two halves around the model call:

- ``run_emotion_prepare`` (before the reply, outside any transaction): appraise the user's message (by the
  LLM when one is configured, else the offline lexicon) and preview the engine step, so the reply prompt
  carries ``prompt_data`` for the state the message leads to;
- ``run_emotion_commit`` (inside the transaction that writes the reply): apply the step to the emotion
  session as it is now (one UPDATE conditioned on the turn count read with the run; a turn that lost a
  race redoes it under the row lock, so concurrent turns serialise) and return the ``emotion.updated``
  event that follows the reply. A run that fails leaves the emotion untouched; a retried run appraises again.

A model appraisal is a metered call like the reply: the turn reserves its credits before it and settles
them with the reply's. Emotion never fails a turn, with one exception: a hard budget with no room for
the appraisal fails the turn (``budget_exceeded``) before any model call. Any other error here is logged
and the reply goes out without emotion.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.accounts.errors import BudgetExceeded
from apps.conversations.models import Run, Session
from apps.conversations.services.events import NewEvent
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import engine
from apps.personas.appraisal import AppraisalOutcome, message_appraise
from apps.personas.characters import character_persona_session_create
from apps.personas.models import PersonaSession
from apps.personas.services import persona_turn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunEmotion:
    """What the reply needs from the emotion engine, and what the commit applies."""

    persona: PersonaSession
    """The emotion session's row as read with the run; the commit builds on it unless a turn saved since."""
    prompt_data: dict[str, Any]
    appraisal: dict[str, float] | None
    """None when the run answers no user message (nothing to appraise)."""
    appraisal_source: str = ""
    appraisal_call: AppraisalOutcome | None = None
    """The model call that appraised the message, when one was made (its usage is metered with the run's)."""


def session_persona_ensure(*, session: Session) -> PersonaSession:
    """The session's emotion session, created from the character's persona on first use.

    Two workers racing here create one link: the conditional UPDATE lets one win, the loser's row is deleted.
    """
    if session.persona_session_id:
        return session.persona_session
    persona = character_persona_session_create(
        app=session.app, character_id=session.character_id, content=session.character_version.content
    )
    linked = Session.objects.filter(pk=session.pk, persona_session__isnull=True).update(persona_session=persona)
    if linked:
        session.persona_session = persona
    else:
        persona.delete()
        session.refresh_from_db(fields=["persona_session"])
    return session.persona_session


def run_emotion_prepare(
    *,
    run: Run,
    trigger_text: str,
    before_call: Callable[[ModelSpec, list[ChatMessage]], None] | None = None,
) -> RunEmotion | None:
    """Appraise the run's user message (``trigger_text``; empty for a turn the character starts) and preview
    the new emotion; None if emotion is unavailable. Reads nothing once the session has its emotion session
    (loaded with the run). ``before_call`` runs before a model appraisal: the turn reserves its credits
    there, and what it raises (BudgetExceeded) fails the turn before any call."""
    try:
        persona = session_persona_ensure(session=run.session)
        personality = engine.personality_from_dict(persona.persona)
        config = engine.emotion_config_derive(personality, persona.config)
        state = engine.EmotionState.from_dict(persona.state)
        relationship = (
            engine.Relationship.from_dict(persona.relationship)
            if persona.relationship
            else engine.relationship_initial(config)
        )
        elapsed = (clock.now() - persona.last_turn_at).total_seconds() if persona.last_turn_at else 0.0
        if not trigger_text:
            state = engine.emotion_decay(state, config, elapsed)
            return RunEmotion(persona, engine.prompt_data_build(personality, state, relationship, config), None)
        outcome = message_appraise(text=trigger_text, personality=personality, before_call=before_call)
        preview = engine.emotion_step(state, outcome.appraisal, config, personality, relationship, elapsed)
        prompt_data = engine.prompt_data_build(personality, preview.state, preview.relationship, config)
        call = outcome if outcome.model is not None else None
        return RunEmotion(persona, prompt_data, outcome.appraisal.to_dict(), outcome.source, call)
    except BudgetExceeded:
        raise
    except ApplicationError as error:
        logger.warning("Emotion unavailable for run %s: %s", run.id, error.message)
        return None


def run_emotion_commit(*, run: Run, emotion: RunEmotion | None) -> list[NewEvent]:
    """Apply the appraised message to the emotion session; the ``emotion.updated`` event to append after the
    reply. Call inside the reply's transaction (the emotion commits or rolls back with the reply): one
    conditional UPDATE when no other turn changed the emotion session since the run read it."""
    if emotion is None or emotion.appraisal is None:
        return []
    try:
        turn = persona_turn(
            app=run.session.app,
            session_id=emotion.persona.pk,
            appraisal=emotion.appraisal,
            origin=f"native:{run.id}",
            loaded=emotion.persona,
        )
    except ApplicationError as error:  # e.g. the emotion session was deleted meanwhile; the reply still goes out
        logger.warning("Emotion not updated for run %s: %s", run.id, error.message)
        return []
    return [NewEvent("emotion.updated", emotion_payload(turn.result, run=run, source=emotion.appraisal_source),
                     "character", run.id)]  # fmt: skip


def emotion_payload(result: engine.TurnResult, *, run: Run, source: str) -> dict[str, Any]:
    """The ``emotion.updated`` payload: what a client needs to switch the character's expression."""
    state = result.state
    relationship = result.relationship
    return {
        "run_ref": run.id,
        "reply_to_cursor": run.trigger_cursor,
        "emotion": state.vad.to_dict(),
        "discrete_emotion": state.discrete.to_dict(),
        "intensity": round(state.intensity, 4),
        "trust": round(relationship.trust, 4) if relationship else None,
        "trust_delta": round(result.trust_delta, 4),
        "attachment_style": relationship.attachment_style if relationship else None,
        "body_budget": round(state.body_budget, 4),
        "soul_stage": {"id": state.stage, "name": engine.STAGES[state.stage][0]},
        "stage_transition": result.stage_transition,
        "emotional_overflow": result.emotional_overflow,
        "appraisal": result.appraisal.to_dict(),
        "appraisal_source": source,
    }
