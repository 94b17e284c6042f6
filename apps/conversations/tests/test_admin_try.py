"""Admin "Try it": one test message to a character through the real turn pipeline (the scripted model), with
the reply, the appraisal and the emotion change shown on the page."""

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event, Run, Session
from apps.personas.models import CharacterPersona


@pytest.fixture
def character(owner):
    return character_publish(owner.api_key.app, slug="luna", greeting="Hi, I'm Luna.").character


def _try(character) -> str:
    return reverse("admin:character_try", args=[character.pk])


def _send(client, character, text, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the turn runs inline once the send commits
        response = client.post(_try(character), {"text": text})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def test_the_url_name_and_path(character):
    assert reverse("admin:character_try", args=[character.pk]).endswith(f"/try/{character.pk}/")


def test_the_page_shows_the_character_its_version_and_model(admin_client, character):
    page = admin_client.get(_try(character))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Luna" in html and 'id="try-version">v1<' in html
    assert "scripted" in page.context["model"]
    assert 'id="try-form"' in html and "csrfmiddlewaretoken" in html
    assert page.context["user_ref"] == "admin-try:admin"


def test_a_test_message_runs_one_real_turn_and_shows_reply_appraisal_and_emotion_change(
    admin_client, character, owner, django_capture_on_commit_callbacks
):
    page = _send(admin_client, character, "You are wonderful, thank you so much!", django_capture_on_commit_callbacks)
    assert page.status_code == 200
    turn = page.context["turn"]
    session = Session.objects.get()
    assert (session.app_id, session.character_id, session.external_user_ref) == (
        owner.api_key.app.pk,
        character.pk,
        "admin-try:admin",
    )
    run = Run.objects.get()
    assert run.status == "succeeded" and run.model_calls == 1 and turn.run.pk == run.pk
    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert turn.bubbles == reply.payload["bubbles"] and turn.user_text == "You are wonderful, thank you so much!"
    updated = Event.objects.get(session=session, event_type="emotion.updated")
    assert turn.emotion_after == updated.payload
    assert turn.emotion_before["emotion"] != turn.emotion_after["emotion"]  # praise moved the mood
    html = page.content.decode()
    for bubble in reply.payload["bubbles"]:
        assert bubble in html
    assert 'id="try-emotion"' in html and 'id="try-appraisal"' in html and 'data-finished="1"' in html
    assert updated.payload["discrete_emotion"]["primary"] in html
    for dimension in updated.payload["appraisal"]:
        assert dimension in html


def test_the_second_message_reuses_the_session_and_starts_from_the_last_emotion(
    admin_client, character, django_capture_on_commit_callbacks
):
    _send(admin_client, character, "hello there", django_capture_on_commit_callbacks)
    second = _send(admin_client, character, "you are the best", django_capture_on_commit_callbacks).context["turn"]
    assert Session.objects.count() == 1 and Run.objects.count() == 2
    first_emotion = Event.objects.filter(event_type="emotion.updated").order_by("cursor").first().payload
    assert second.emotion_before == first_emotion


def test_a_persona_edit_or_a_new_version_starts_a_fresh_session(
    admin_client, character, owner, django_capture_on_commit_callbacks
):
    _send(admin_client, character, "hello", django_capture_on_commit_callbacks)
    CharacterPersona.objects.create(character=character, spec={"preset": "anxious_helper"})
    _send(admin_client, character, "hello again", django_capture_on_commit_callbacks)
    character_publish(owner.api_key.app, slug="luna", display_name="Luna", greeting="Hello again.")
    _send(admin_client, character, "and again", django_capture_on_commit_callbacks)
    sessions = list(Session.objects.order_by("created_at"))
    assert len(sessions) == 3
    assert [s.character_version.version_number for s in sessions] == [1, 1, 2]


def test_a_pending_turn_shows_generating_and_the_partial_for_polling(admin_client, character):
    response = admin_client.post(_try(character), {"text": "hello"})  # not committed: the run stays queued
    page = admin_client.get(response["Location"])
    assert page.context["turn"].finished is False and "Generating" in page.content.decode()
    partial = admin_client.get(response["Location"] + "&partial=1")
    html = partial.content.decode()
    assert 'data-finished="0"' in html and "<html" not in html


def test_an_empty_message_is_refused_and_nothing_is_sent(admin_client, character):
    page = admin_client.post(_try(character), {"text": "   "})
    assert page.status_code == 200 and page.context["form"].errors["text"]
    assert not Session.objects.exists() and not Run.objects.exists() and not Event.objects.exists()


def test_an_unpublished_character_cannot_be_tried(admin_client, owner):
    from apps.characters.models import Character

    character = Character.objects.create(app=owner.api_key.app, slug="draft", display_name="Draft")
    page = admin_client.get(_try(character))
    assert page.status_code == 200 and "no published version" in page.content.decode()
    refused = admin_client.post(_try(character), {"text": "hello"})
    assert refused.status_code == 200 and refused.context["form"].errors["text"]
    assert not Session.objects.exists() and not Run.objects.exists()


def test_another_sessions_run_is_not_shown(admin_client, character, owner, django_capture_on_commit_callbacks):
    from apps.conversations import services

    other = services.session_create(app=owner.api_key.app, character_slug="luna", external_user_ref="user_1")
    sent = services.message_send(app=owner.api_key.app, session_id=other.pk, text="secret")
    page = admin_client.get(_try(character) + f"?session=fake&run={sent.run_ref}")
    assert page.context["turn"] is None and "secret" not in page.content.decode()


def test_unknown_ids_are_404(admin_client):
    assert admin_client.get(reverse("admin:character_try", args=["char_nope"])).status_code == 404


def test_only_superusers_and_staff_bound_to_the_characters_app_may_try(character, django_user_model):
    anonymous = Client().get(_try(character))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    # bound to no app, or to another one: the character looks absent
    assert client.get(_try(character)).status_code == 404
    accounts_services.app_staff_bind(user=staff, app=accounts_services.app_create(name="other"))
    assert client.get(_try(character)).status_code == 404
    assert client.post(_try(character), {"text": "hello"}).status_code == 404
    assert not Session.objects.exists()
    # bound to the character's app: the page opens
    accounts_services.app_staff_bind(user=staff, app=character.app)
    assert client.get(_try(character)).status_code == 200


def test_sending_is_csrf_protected(character, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(_try(character), {"text": "hello"}).status_code == 403
    assert not Session.objects.exists()


def test_the_persona_page_links_to_try_it(admin_client, character):
    persona = CharacterPersona.objects.create(character=character, spec={})
    page = admin_client.get(
        reverse("admin:personas_characterpersona_change", args=[quote(persona.pk)])
    ).content.decode()
    assert f'href="{_try(character)}"' in page


def test_reading_a_turn_back_takes_three_statements_and_one_more_before_the_first_emotion(
    admin_client, character, owner, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from apps.conversations import selectors

    app = owner.api_key.app
    first = _send(admin_client, character, "hello", django_capture_on_commit_callbacks).context["turn"]
    second = _send(admin_client, character, "hello again", django_capture_on_commit_callbacks).context["turn"]
    session_id = first.run.session_id
    with django_assert_num_queries(4):  # run+session, the turn's events, no earlier emotion, the persona spec
        selectors.session_turn_get(app=app, session_id=session_id, run_id=first.run.pk)
    with django_assert_num_queries(3):  # run+session, the turn's events, the previous emotion
        selectors.session_turn_get(app=app, session_id=session_id, run_id=second.run.pk)
    with django_assert_num_queries(1):
        assert selectors.session_turn_get(app=app, session_id="sess_other", run_id=second.run.pk) is None
