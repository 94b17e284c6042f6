"""``session_of_end_user_ensure``: one conversation per (character, end-user) for the OpenAI door's ``user``,
found in one query, kept across published versions, and opened once however many first calls race."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Session

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_first_calls_of_one_user_open_one_session(owner):
    app = owner.api_key.app
    character_publish(app, slug="luna")
    callers = 6
    start = threading.Barrier(callers)

    def ensure(_):
        try:
            start.wait()
            return services.session_of_end_user_ensure(app=app, character_slug="luna", external_user_ref="ada")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=callers) as pool:
        ids = set(pool.map(ensure, range(callers)))

    assert len(ids) == 1
    assert Session.objects.filter(app=app, external_user_ref="ada").count() == 1


def test_the_newest_session_of_the_user_is_kept_across_versions_and_others_are_apart(owner, other):
    app = owner.api_key.app
    character_publish(app, slug="luna")
    character_publish(other.api_key.app, slug="luna")
    first = services.session_of_end_user_ensure(app=app, character_slug="luna", external_user_ref="ada")
    character_publish(app, slug="luna", greeting="A new version.")

    assert services.session_of_end_user_ensure(app=app, character_slug="luna", external_user_ref="ada") == first
    assert services.session_of_end_user_ensure(app=app, character_slug="luna", external_user_ref="bo") != first
    theirs = services.session_of_end_user_ensure(app=other.api_key.app, character_slug="luna", external_user_ref="ada")
    assert theirs != first and Session.objects.get(pk=theirs).app_id == other.api_key.app.pk
