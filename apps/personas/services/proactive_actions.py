"""molroo's proactive actions: when a persona wants to reach out, the sweep that finds it, the session's
preferences and the acknowledgement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.core import clock, metrics
from apps.personas import engine
from apps.personas.errors import ProactiveActionNotFound
from apps.personas.events import persona_event, persona_events_emit
from apps.personas.models import PersonaSession, ProactiveAction
from apps.personas.selectors import proactive_pending
from apps.personas.services.sessions import TRIGGERS_DEFAULT, session_locked
from apps.personas.triggers import RECHECK_MIN_SECONDS, attachment_wait_seconds, proactive_candidates

if TYPE_CHECKING:
    from apps.accounts.models import App


def session_event(
    session: PersonaSession, type: str, data: dict[str, Any], origin: str | None = None
) -> dict[str, Any]:
    """One of molroo's events of ``session`` (see ``apps.personas.events``)."""
    return persona_event(type=type, app_id=session.app_id, session_id=session.pk, data=data, origin=origin)


def next_check_at(session: PersonaSession, relationship: dict[str, Any], now: datetime) -> datetime:
    """When the sweep should look again: once the persona's tolerance of absence has run out."""
    wait = attachment_wait_seconds(relationship=relationship, config=session.config)
    return now + timedelta(seconds=max(wait, RECHECK_MIN_SECONDS))


def proactive_hint(session: PersonaSession, relationship: engine.Relationship, now: datetime) -> dict[str, Any]:
    """When the persona would next reach out by itself, and what it already wants to (only when enabled)."""
    if not session.proactive_enabled:
        return {"enabled": False, "next_check_at": None, "pending_actions": []}
    pending = list(session.proactive_actions.filter(acknowledged_at__isnull=True).values("id", "type", "priority"))
    next_check = session.proactive_next_check_at or next_check_at(session, relationship.to_dict(), now)
    return {"enabled": True, "next_check_at": next_check.isoformat().replace("+00:00", "Z"), "pending_actions": pending}


def proactive_actions_create(
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
        metrics.proactive_sent(kind="persona_action")
        events.append(
            session_event(
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
        session = session_locked(app, session_id)
        idle = (now - (session.last_turn_at or session.created_at)).total_seconds()
        persona_events_emit(proactive_actions_create(session, idle_seconds=idle, relationship=session.relationship))
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
            events += proactive_actions_create(session, idle_seconds=idle, relationship=session.relationship)
            session.proactive_next_check_at = next_check_at(session, session.relationship, now)
        PersonaSession.objects.bulk_update(due, ["proactive_next_check_at"])
        persona_events_emit(events)
    return len(events)


def persona_proactive_preferences_update(
    *, app: App, session_id: str, enabled: bool | None = None, triggers: Mapping[str, bool] | None = None
) -> PersonaSession:
    with transaction.atomic():
        session = session_locked(app, session_id)
        if enabled is not None:
            session.proactive_enabled = enabled
            now = clock.now()
            session.proactive_next_check_at = next_check_at(session, session.relationship, now) if enabled else None
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
