"""Sessions follow their character's published versions; ``character_version`` pins one (POST) or moves and
unpins (PATCH). Each turn runs on the version current when it starts and records it on its run."""

import pytest

from apps.api.native.tests.contract import assert_error
from apps.characters.models import Character
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event, Run, Session


@pytest.fixture
def luna(owner):
    character_publish(owner.api_key.app, slug="luna", display_name="Luna")


def _session(api, **body) -> str:
    response = api.post("/v1/sessions", {"character": "luna", "external_user_ref": "u1", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["session_id"]


def _publish(api, display_name: str) -> int:
    response = api.patch("/v1/characters/luna", {"display_name": display_name}, format="json")
    assert response.status_code == 200, response.content
    return Character.objects.get(slug="luna").current_version.version_number


def _turn(api, sid: str, capture) -> tuple[str, int]:
    """Send a message (its run executes inline after commit); the reply's text and its run's version number."""
    with capture(execute=True):
        sent = api.post(f"/v1/sessions/{sid}/messages", {"text": "who are you"}, format="json")
    assert sent.status_code == 202, sent.content
    run = Run.objects.select_related("character_version").get(pk=sent.json()["data"]["run_ref"])
    reply = Event.objects.get(run=run, event_type="message.created", role="character")
    return reply.payload["text"], run.character_version.version_number


def _detail(api, sid: str) -> tuple[int, bool]:
    data = api.get(f"/v1/sessions/{sid}").json()["data"]
    return data["character_version"], data["character_version_pinned"]


def test_a_session_follows_each_new_version_from_its_next_turn(api, luna, fake_llm, django_capture_on_commit_callbacks):
    sid = _session(api)
    assert _detail(api, sid) == (1, False)
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Luna here"), version) == (True, 1)
    assert _publish(api, "Moon") == 2
    assert _detail(api, sid) == (2, False)  # what the next turn will run on
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Moon here"), version) == (True, 2)
    assert Session.objects.get(pk=sid).character_version.version_number == 2
    # the earlier turn keeps the version it ran on
    assert sorted(Run.objects.filter(session_id=sid).values_list("character_version__version_number", flat=True)) == [
        1,
        2,
    ]


def test_a_draft_never_reaches_a_session_until_it_is_published(api, luna, fake_llm, django_capture_on_commit_callbacks):
    sid = _session(api)
    Character.objects.filter(slug="luna").update(draft={"slug": "luna", "display_name": "Draft Name"})
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Luna here"), version) == (True, 1)


def test_a_pinned_session_stays_until_moved_and_unpinning_follows_again(
    api, luna, fake_llm, django_capture_on_commit_callbacks
):
    _publish(api, "Moon")
    sid = _session(api, character_version=1)
    assert _detail(api, sid) == (1, True)
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Luna here"), version) == (True, 1)

    moved = api.patch(f"/v1/sessions/{sid}", {"character_version": 2}, format="json")
    assert moved.status_code == 200, moved.content
    assert (moved.json()["data"]["character_version"], moved.json()["data"]["character_version_pinned"]) == (2, True)
    _publish(api, "Star")  # v3: the pinned session does not follow
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Moon here"), version) == (True, 2)

    unpinned = api.patch(f"/v1/sessions/{sid}", {"character_version": None}, format="json")
    assert unpinned.status_code == 200, unpinned.content
    assert _detail(api, sid) == (3, False)
    text, version = _turn(api, sid, django_capture_on_commit_callbacks)
    assert (text.startswith("Star here"), version) == (True, 3)


def test_a_turn_never_overwrites_a_pin_made_while_it_ran(owner, luna):
    from django.db import transaction

    from apps.conversations import services
    from apps.conversations.services.events import session_cursor_advance

    app = owner.api_key.app
    session = services.session_create(app=app, character_slug="luna", external_user_ref="u1")
    services.session_version_pin(app=app, session_id=session.id, character_version=1)
    stale = session.character_version_id  # the pinned version; a turn that started before the pin saw another
    with transaction.atomic():
        session_cursor_advance(session_id=session.id, count=1, character_version_id="chv_not_this_one")
    session.refresh_from_db()
    assert (session.character_version_id, session.character_version_pinned) == (stale, True)


def test_an_unknown_version_is_refused_and_nothing_is_written(api, luna, nothing_written):
    with nothing_written():
        response = api.post(
            "/v1/sessions", {"character": "luna", "external_user_ref": "u1", "character_version": 7}, format="json"
        )
    assert_error(response, 422, "validation_error", fields=["character_version"])
    assert not Session.objects.exists()


@pytest.mark.parametrize("value", ["2", True, 0, 1.5])
def test_a_version_that_is_not_a_positive_integer_is_refused(api, luna, value):
    sid = _session(api)
    response = api.patch(f"/v1/sessions/{sid}", {"character_version": value}, format="json")
    assert_error(response, 422, "validation_error")
    assert _detail(api, sid) == (1, False)


def test_patch_needs_a_version_that_exists_and_an_empty_patch_changes_nothing(api, luna):
    sid = _session(api)
    assert_error(api.patch(f"/v1/sessions/{sid}", {"character_version": 5}, format="json"), 422, "validation_error")
    assert_error(api.patch(f"/v1/sessions/{sid}", [1], format="json"), 422, "validation_error")
    empty = api.patch(f"/v1/sessions/{sid}", {}, format="json")
    assert empty.status_code == 200 and empty.json()["data"]["character_version_pinned"] is False
    assert Session.objects.get(pk=sid).character_version_pinned is False


def test_another_apps_session_cannot_be_pinned(api, other_api, luna):
    sid = _session(api)
    response = other_api.patch(f"/v1/sessions/{sid}", {"character_version": 1}, format="json")
    assert_error(response, 404, "session_not_found")
    assert Session.objects.get(pk=sid).character_version_pinned is False
