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

from apps.accounts.errors import BudgetExceeded
from apps.conversations.models import Run, Session
from apps.conversations.services.events import NewEvent
from apps.core.errors import ApplicationError
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import services as persona_services
from apps.personas.types import PersonaSession, PersonaTurnPreview

logger = logging.getLogger(__name__)


def session_persona_ensure(*, session: Session) -> PersonaSession:
    """The session's emotion session, created from the character's persona on first use.

    Two workers racing here create one link: the conditional UPDATE lets one win, the loser's row is discarded.
    """
    if session.persona_session_id:
        return session.persona_session
    persona = persona_services.character_persona_session_create(
        app=session.app, character_id=session.character_id, content=session.character_version.content
    )
    linked = Session.objects.filter(pk=session.pk, persona_session__isnull=True).update(persona_session=persona)
    if linked:
        session.persona_session = persona
    else:
        persona_services.persona_session_discard(app=session.app, session_id=persona.pk)
        session.refresh_from_db(fields=["persona_session"])
    return session.persona_session


def run_emotion_prepare(
    *,
    run: Run,
    trigger_text: str,
    before_call: Callable[[ModelSpec, list[ChatMessage]], None] | None = None,
) -> PersonaTurnPreview | None:
    """Appraise the run's user message (``trigger_text``; empty for a turn the character starts) and preview
    the new emotion; None if emotion is unavailable. Reads nothing once the session has its emotion session
    (loaded with the run). ``before_call`` runs before a model appraisal: the turn reserves its credits
    there, and what it raises (BudgetExceeded) fails the turn before any call."""
    try:
        persona = session_persona_ensure(session=run.session)
        return persona_services.persona_turn_preview(session=persona, message=trigger_text, before_call=before_call)
    except BudgetExceeded:
        raise
    except ApplicationError as error:
        logger.warning("Emotion unavailable for run %s: %s", run.id, error.message)
        return None


def run_emotion_commit(*, run: Run, emotion: PersonaTurnPreview | None) -> list[NewEvent]:
    """Apply the appraised message to the emotion session; the ``emotion.updated`` event to append after the
    reply. Call inside the reply's transaction (the emotion commits or rolls back with the reply): one
    conditional UPDATE when no other turn changed the emotion session since the run read it."""
    if emotion is None:
        return []
    try:
        turn = persona_services.persona_turn_commit(app=run.session.app, preview=emotion, origin=f"native:{run.id}")
    except ApplicationError as error:  # e.g. the emotion session was deleted meanwhile; the reply still goes out
        logger.warning("Emotion not updated for run %s: %s", run.id, error.message)
        return []
    if turn is None:  # nothing to apply: the run answers no user message
        return []
    # What a client needs to switch the character's expression, tied to the reply it goes with.
    payload = {
        "run_ref": run.id,
        "reply_to_cursor": run.trigger_cursor,
        **turn.emotion_summary(),
        "appraisal_source": emotion.appraisal_source,
    }
    return [NewEvent("emotion.updated", payload, "character", run.id)]
