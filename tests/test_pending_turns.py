"""Unanswered turns per session (``TURNS_MAX_PENDING_PER_SESSION``) are held exactly: one after another, and when
sends to one session race on its row lock (PostgreSQL: the count is taken after the lock, see migration
conversations 0011). The refusals' shapes on each surface are in ``tests/test_resource_limits.py``."""

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction

from apps.accounts import services as accounts_services
from apps.api.native.tests.contract import row_counts
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.errors import TooManyPendingTurns
from apps.conversations.models import Run

POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _app_and_session(name: str = "pending app"):
    app = accounts_services.app_create(name=name)
    with transaction.atomic():
        character_publish(app, slug="luna")
        session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="u1")
    return app, session.id


def _send(app, session_id: str, text: str = "hi"):
    return conversation_services.message_send(app=app, session_id=session_id, text=text, dispatch=False)


@pytest.mark.django_db
def test_sequential_sends_are_held_at_exactly_the_limit_and_a_reply_frees_one(settings):
    settings.TURNS_MAX_PENDING_PER_SESSION, settings.TURNS_MAX_PENDING_PER_APP = 3, 100
    app, session_id = _app_and_session()
    sent = [_send(app, session_id, f"message {index}") for index in range(3)]
    assert [result.sent_turn_index for result in sent] == [1, 2, 3]
    before = row_counts()
    with pytest.raises(TooManyPendingTurns, match="already has 3 messages waiting"):
        _send(app, session_id, "one too many")
    assert row_counts() == before  # no event, run or cursor taken
    Run.objects.filter(pk=sent[0].run_ref).update(status=Run.Status.SUCCEEDED)
    assert _send(app, session_id, "now there is room").sent_turn_index == 4
    with pytest.raises(TooManyPendingTurns):
        _send(app, session_id, "full again")


@pytest.mark.django_db
def test_the_apps_limit_counts_every_session_of_the_app_and_no_other_app(settings):
    settings.TURNS_MAX_PENDING_PER_SESSION, settings.TURNS_MAX_PENDING_PER_APP = 10, 2
    app, first = _app_and_session()
    with transaction.atomic():
        character_publish(app, slug="mira")
        second = conversation_services.session_create(app=app, character_slug="mira", external_user_ref="u2").id
    other_app, other_session = _app_and_session("another app")
    _send(app, first)
    _send(app, second)
    with pytest.raises(TooManyPendingTurns, match="across its sessions"):
        _send(app, first)
    assert _send(other_app, other_session).accepted  # another app's count is its own


@pytest.mark.skipif(not POSTGRESQL, reason="SQLite runs one write transaction at a time: nothing can race")
@pytest.mark.django_db(transaction=True)
def test_a_send_queued_on_the_session_lock_counts_the_run_the_send_before_it_committed(settings):
    settings.TURNS_MAX_PENDING_PER_SESSION, settings.TURNS_MAX_PENDING_PER_APP = 2, 100
    app, session_id = _app_and_session()
    _send(app, session_id)  # one unanswered: room for exactly one more
    holding, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                outcomes["first"] = _send(app, session_id, "first")
                holding.set()  # the session row stays locked until this transaction commits
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def second():
        try:
            outcomes["second"] = _send(app, session_id, "second")
        except TooManyPendingTurns as error:
            outcomes["second"] = error
        finally:
            connections.close_all()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert holding.wait(timeout=30)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    # the second send's UPDATE is waiting for the first one's row lock (a deadline, not a timing)
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second send never waited for the session's lock")
    release.set()
    first_thread.join(timeout=30)
    second_thread.join(timeout=30)
    assert outcomes["first"].accepted
    assert isinstance(outcomes["second"], TooManyPendingTurns)
    assert Run.objects.filter(session_id=session_id, status=Run.Status.QUEUED).count() == 2
