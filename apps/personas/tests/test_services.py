"""Persona services: what a turn writes, and concurrent turns on one session (none lost)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.core.errors import ValidationFailed
from apps.personas import selectors, services
from apps.personas.errors import PersonaSessionNotFound
from apps.personas.models import PersonaRelationship, PersonaSession


def test_create_turn_and_state(owner):
    app = owner.api_key.app
    session = services.persona_session_create(app=app, spec={"preset": "empathetic_listener"})
    assert session.state["soul_stage"]["id"] >= 1 and session.persona["preset"] == "empathetic_listener"
    turn = services.persona_turn(app=app, session_id=session.id, message="thank you, that means a lot")
    assert turn.result.state.turns == 1
    assert turn.prompt_data["formatted"]["system_prompt"]
    state = selectors.persona_state(app=app, session_id=session.id)
    assert state["emotion"] == turn.result.to_dict()["new_emotion"]


def test_event_context_reaches_the_prompt(owner):
    app = owner.api_key.app
    session = services.persona_session_create(app=app, spec={"preset": "stoic_mentor"})
    turn = services.persona_turn(app=app, session_id=session.id, message="hi", context="They just lost a match.")
    assert "They just lost a match." in turn.prompt_data["formatted"]["context_block"]
    assert turn.prompt_data["context"]["event_context"] == "They just lost a match."


def test_a_failed_turn_writes_nothing(owner, other):
    app = owner.api_key.app
    session = services.persona_session_create(app=app, spec={"preset": "stoic_mentor"})
    with pytest.raises(ValidationFailed):
        services.persona_turn(app=app, session_id=session.id, appraisal={"goal_relevance": 3})
    with pytest.raises(PersonaSessionNotFound):
        services.persona_turn(app=other.api_key.app, session_id=session.id, message="hi")
    session.refresh_from_db()
    assert session.turn_count == 0 and session.relationship == {} and not PersonaRelationship.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_turns_on_one_session_all_apply(owner):
    app = owner.api_key.app
    session = services.persona_session_create(app=app, spec={"preset": "cheerful_companion"})

    def one(index: int) -> int:
        try:
            return services.persona_turn(app=app, session_id=session.id, message=f"thanks! #{index}").result.state.turns
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        turns = sorted(pool.map(one, range(18)))
    assert turns == list(range(1, 19))  # each turn saw the one before it: serialised, none lost
    row = PersonaSession.objects.get(pk=session.id)
    assert row.turn_count == 18 and row.state["dynamics"]["turns"] == 18
    assert row.relationship["interactions"] == 18


def test_the_sweep_creates_due_actions_once_and_moves_the_next_check(owner, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from apps.core import clock
    from apps.personas.models import ProactiveAction
    from apps.personas.tasks import persona_proactive_sweep_task

    app = owner.api_key.app
    quiet = services.persona_session_create(app=app, spec={"preset": "anxious_helper"})
    away = services.persona_session_create(app=app, spec={"preset": "anxious_helper"})
    off = services.persona_session_create(app=app, spec={"preset": "anxious_helper"})
    for session in (quiet, away):
        services.persona_proactive_preferences_update(app=app, session_id=session.id, enabled=True)
    assert persona_proactive_sweep_task() == 0  # nobody is due yet
    week_ago = clock.now() - timedelta(days=7)
    due = PersonaSession.objects.filter(pk__in=[away.id, off.id])
    due.update(last_turn_at=week_ago, proactive_next_check_at=week_ago)
    assert persona_proactive_sweep_task() == 1
    [action] = ProactiveAction.objects.all()
    assert action.session_id == away.id and action.type == "attachment_seeking"
    assert PersonaSession.objects.get(pk=away.id).proactive_next_check_at > clock.now()
    assert persona_proactive_sweep_task() == 0  # not due again yet
