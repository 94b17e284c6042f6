"""The persona API's perceive and its memory: each event a persona perceives becomes an episode, an entry of
the one memory store (``Memory``/``MemoryFact``), in the memory the persona owns (``Memory.persona``).

``persona_perceive`` appraises the event first (a given vector costs nothing; the message is appraised by the
lexicon offline or by the model, whose credits are reserved and committed before the call), then, in one
transaction, steps the persona (the personas app's turn), records the episode and settles the call.
"""

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from apps.accounts.types import UsagePurpose
from apps.conversations.models import Memory, MemoryFact
from apps.conversations.services import metering
from apps.core import clock
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas import selectors as persona_selectors
from apps.personas import services as persona_services
from apps.personas.types import PersonaTurn

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class Perception:
    """What perceiving an event did: the persona's turn and the episode recorded (its id and fields)."""

    turn: PersonaTurn
    episode_id: str
    text: str
    episode: dict[str, Any]
    appraisal_source: str
    recurrence: float = 0.0
    reflection_prompt: dict[str, str] | None = None


def persona_memory_ensure(*, app_id: str, persona_id: str) -> str:
    """The id of the persona's memory, created on first need: one upsert either way (see ``memory_ensure``)."""
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Memory._meta.db_table} (id, app_id, persona_id, external_user_ref, summary, blocks, "  # noqa: S608
            "fact_count, created_at, updated_at) VALUES (%s, %s, %s, '', '', %s, 0, %s, %s) "
            "ON CONFLICT (persona_id) DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING id",
            [Memory._meta.pk.get_default(), app_id, persona_id, "[]", now, now],
        )
        return cursor.fetchone()[0]


def _episode_insert(*, app_id: str, persona_id: str, text: str, data: dict[str, Any], now) -> str:
    """Add an episode to the persona's memory: one INSERT ... SELECT that finds the memory by its owner, so a
    perceive costs no statement to look the memory up; only the first one creates the memory first."""
    episode_id = MemoryFact._meta.pk.get_default()
    facts, memories = MemoryFact._meta.db_table, Memory._meta.db_table
    sql = (
        f"INSERT INTO {facts} (id, memory_id, kind, text, data, key, origin, valid_from, created_at, updated_at) "  # noqa: S608
        f"SELECT %s, id, %s, %s, %s, '', %s, %s, %s, %s FROM {memories} WHERE persona_id = %s"
    )
    values = [
        episode_id,
        MemoryFact.Kind.EPISODE,
        text,
        json.dumps(data),
        MemoryFact.Origin.EXTRACTED,
        now,
        now,
        now,
        persona_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if cursor.rowcount == 1:
            return episode_id
    persona_memory_ensure(app_id=app_id, persona_id=persona_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    return episode_id


def episode_importance(*, relevance: float, intensity: float) -> float:
    """How much an episode matters, 0..1: half how relevant the event was to the persona's goals, half how
    strongly it was felt."""
    return round(min(1.0, max(0.0, 0.5 * relevance + 0.5 * intensity)), 4)


def persona_perceive(
    *,
    app: "App",
    persona_id: str,
    message: str,
    event_type: str = "chat_message",
    appraisal: dict[str, float] | None = None,
    appraisal_extra: dict[str, float] | None = None,
    source_entity: str = "",
    timestamp_ms: int | None = None,
    trust_initial: float | None = None,
    stimulus: dict[str, Any] | None = None,
    prior_episodes: list[dict[str, Any]] | tuple = (),
) -> Perception:
    """The persona perceives an event: ``message`` from ``source_entity``, appraised as ``appraisal`` (molroo's
    six dimensions; ``appraisal_extra`` holds the SDK's other three, kept on the episode) or by our appraiser
    (which reads the ``stimulus`` too); ``prior_episodes`` shape either (see ``persona_perceive_appraise``).
    An episode that matters comes with the SDK's ``reflectionPrompt``.

    Raises PersonaNotFound, EngineInputInvalid and BudgetExceeded (before any model call); nothing is written
    then, except a model call's settled reservation."""
    reserved: list[metering.MeteredCall] = []

    def reserve(spec: ModelSpec, messages: list[ChatMessage]) -> None:
        with transaction.atomic():
            reserved.append(
                metering.app_call_reserve(
                    app_id=app.pk,
                    external_user_ref=source_entity,
                    spec=spec,
                    messages=messages,
                    purpose=UsagePurpose.EMOTION_APPRAISAL,
                )
            )

    appraised = persona_services.persona_perceive_appraise(
        app=app,
        persona_id=persona_id,
        message=message,
        appraisal=appraisal,
        source_entity=source_entity,
        stimulus=stimulus,
        prior_episodes=prior_episodes,
        now_ms=timestamp_ms,
        before_call=reserve,
    )
    outcomes = []
    if reserved:
        call = appraised.call
        usage = call.usage if call is not None else None
        model = call.model if call is not None and call.model else ""
        outcomes.append(metering.CallOutcome(reserved[0], usage, "succeeded" if usage else "failed", model or ""))
    try:
        with transaction.atomic():
            turn = persona_services.persona_perceive_apply(
                app=app,
                appraised=appraised,
                source_entity=source_entity,
                trust_initial=trust_initial,
            )
            now = clock.now()
            state = turn.result.state
            vector = {**turn.result.appraisal.to_dict(), **(appraisal_extra or {})}
            episode = {
                "type": event_type,
                "sourceEntity": source_entity or None,
                "appraisal": vector,
                "intensity": round(state.intensity, 4),
                "importance": episode_importance(relevance=vector["goal_relevance"], intensity=state.intensity),
                "timestamp": timestamp_ms if timestamp_ms is not None else int(now.timestamp() * 1000),
                "emotionSnapshot": state.vad.to_dict(),
            }
            episode_id = _episode_insert(app_id=app.pk, persona_id=persona_id, text=message, data=episode, now=now)
            if outcomes:
                metering.calls_settle(outcomes=outcomes)
    except Exception:
        if outcomes:
            with transaction.atomic():
                metering.calls_settle(outcomes=[metering.CallOutcome(outcomes[0].call, None, "failed")])
        raise
    reflection = persona_selectors.persona_reflection_prompt(
        session=turn.session, text=message, source_entity=source_entity, state=state, importance=episode["importance"]
    )
    return Perception(turn, episode_id, message, episode, appraised.source, appraised.recurrence, reflection)
