"""Exact SQL statement counts of the native event reads a client repeats: the SSE catch-up and the poll."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.api.native import streams
from apps.conversations import services
from apps.conversations.tests.factories import session_start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.API_KEY_CACHE_SECONDS = 5


def _count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_the_sse_catch_up_costs_one_read_for_the_session_and_one_per_page(owner):
    app = owner.api_key.app
    session = session_start(app, greeting="Hi!")
    services.message_send(app=app, session_id=session.id, text="hello")
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    streams._authenticate_and_load(request, session.id)  # warms the key cache
    # opening the stream: the session (the key comes from the cache); each page of the catch-up: one query
    assert _count(lambda: streams._authenticate_and_load(request, session.id)) == 1
    assert _count(lambda: streams._events_after(session.id, 0)) == 1
    assert len(streams._events_after(session.id, 0)) >= 3


def test_a_poll_that_finds_nothing_new_costs_one_read(api, owner):
    session = session_start(owner.api_key.app, greeting="Hi!")
    url = f"/v1/sessions/{session.id}/events?since=1"
    assert api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200 and response.json()["data"]["events"] == []
    # the session (ownership, and its last cursor says nothing is new: the events are not read)
    assert len(captured.captured_queries) == 1, [query["sql"][:120] for query in captured.captured_queries]


def test_a_poll_that_finds_new_events_costs_two_reads_neither_of_the_character(api, owner):
    session = session_start(owner.api_key.app, greeting="Hi!")
    services.message_send(app=owner.api_key.app, session_id=session.id, text="hello")
    url = f"/v1/sessions/{session.id}/events?since=1"
    assert api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200
    assert response.json()["data"]["events"][0]["event_type"] == "message.created"
    statements = [query["sql"] for query in captured.captured_queries]
    # the session's last cursor, then the page of events: a poll never loads the character or its versions
    assert len(statements) == 2, [sql[:120] for sql in statements]
    assert not [sql for sql in statements if "characters_" in sql], statements
