"""The character's emotion in native conversations: appraisal before the reply, prompt_data in the prompt,
``emotion.updated`` after it, the state kept on the session's emotion session."""

import pytest

from apps.conversations import prompts, services
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.factories import session_start
from apps.personas.models import CharacterPersona, PersonaSession

pytestmark = pytest.mark.django_db


def _turn(app, session, text, captured):
    with captured(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text=text)
    return sent, Event.objects.filter(session=session, event_type="emotion.updated").order_by("-cursor").first()


def test_each_reply_is_followed_by_emotion_updated_and_praise_then_insult_move_it(
    owner, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, display_name="Luna", emotion_baseline={"valence": 0.2, "arousal": -0.2})
    sent, praised = _turn(app, session, "You're amazing, thank you so much!", django_capture_on_commit_callbacks)
    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert praised.cursor == reply.cursor + 1 and praised.run_id == sent.run_ref == reply.run_id
    payload = praised.payload
    assert payload["run_ref"] == sent.run_ref and payload["reply_to_cursor"] == sent.cursor
    assert payload["appraisal_source"] == "lexicon"  # the scripted model: offline appraisal
    assert payload["emotion"]["V"] > 0.2  # above the authored resting valence
    assert payload["discrete_emotion"]["primary"] in {"gratitude", "joy", "affection", "contentment", "pride"}
    assert payload["trust_delta"] > 0 and 0 <= payload["trust"] <= 1
    assert set(payload) >= {"intensity", "attachment_style", "soul_stage", "body_budget", "appraisal"}

    _, insulted = _turn(app, session, "You are a stupid useless idiot", django_capture_on_commit_callbacks)
    assert insulted.payload["emotion"]["V"] < payload["emotion"]["V"]
    assert insulted.payload["trust"] < payload["trust"]
    assert abs(insulted.payload["trust_delta"]) > payload["trust_delta"]  # lost faster than won
    session.refresh_from_db()
    persona = PersonaSession.objects.get(pk=session.persona_session_id)
    assert persona.app_id == app.id and persona.turn_count == 2
    assert persona.state["emotion"] == insulted.payload["emotion"]


def test_the_authored_baseline_and_persona_shape_the_state_and_the_prompt_language(
    owner, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, display_name="Mina", locale="ko-KR", emotion_baseline={"valence": -0.4})
    CharacterPersona.objects.create(
        character=session.character, spec={"preset": "anxious_helper", "goals": ["pass the exam"]}
    )
    _turn(app, session, "I love talking to you", django_capture_on_commit_callbacks)
    session.refresh_from_db()
    persona = session.persona_session
    assert persona.preset == "anxious_helper" and persona.persona["goals"] == ["pass the exam"]
    assert persona.persona["identity"]["name"] == "Mina" and persona.persona["identity"]["language"] == "ko-KR"
    assert persona.config["baseline"]["V"] == -0.4
    # the reply prompt carried the emotion blocks, in Korean, after the character sheet
    [request] = fake_llm.chat_requests
    messages = request.body["messages"]
    assert messages[0]["content"] == prompts.system_prompt(session.character_version.content)
    assert messages[1]["role"] == "system" and messages[1]["content"].startswith("[현재 내면 상태]")
    assert "[응답 방식]" in messages[1]["content"]
    # a real model is configured, so the message was appraised by it (JSON mode), before the reply
    [appraisal_request] = fake_llm.appraisal_requests
    assert fake_llm.requests.index(appraisal_request) < fake_llm.requests.index(request)
    assert "pass the exam" in appraisal_request.body["messages"][0]["content"]
    event = Event.objects.get(session=session, event_type="emotion.updated")
    assert event.payload["appraisal_source"] == "llm" and event.payload["appraisal"]["goal_relevance"] == 0.77


def test_an_appraisal_model_failure_falls_back_to_the_lexicon_and_the_reply_still_arrives(
    owner, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("appraisal_fail")
    sent, event = _turn(app, session, "thank you!", django_capture_on_commit_callbacks)
    assert Run.objects.get(pk=sent.run_ref).status == "succeeded"
    assert event.payload["appraisal_source"] == "lexicon_fallback"
    assert event.payload["appraisal"]["goal_congruence"] > 0


def test_a_failed_run_leaves_the_emotion_untouched(owner, fake_llm, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    fake_llm.set_mode("bad_request")
    sent, event = _turn(app, session, "You are a stupid idiot", django_capture_on_commit_callbacks)
    assert Run.objects.get(pk=sent.run_ref).status == "failed" and event is None
    session.refresh_from_db()
    assert session.persona_session.turn_count == 0  # created for the turn, never moved


def test_a_deleted_emotion_session_is_replaced_without_losing_the_reply(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    _turn(app, session, "hello", django_capture_on_commit_callbacks)
    first = Session.objects.get(pk=session.pk).persona_session_id
    PersonaSession.objects.filter(pk=first).delete()  # e.g. DELETE /emotion/v1/persona/{id}
    session.refresh_from_db()
    assert session.persona_session_id is None
    _, event = _turn(app, session, "hello again", django_capture_on_commit_callbacks)
    session.refresh_from_db()
    assert session.persona_session_id not in (None, first) and event is not None
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 2
