"""Staff on the streams, over real HTTP: a staff user bound to an app signs in to the admin and opens that app's
session streams (SSE) with their Django session; another app's session looks absent; unbound staff are refused."""

import asyncio

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from tests.live import live_stack  # noqa: F401  (fixture)
from tests.test_live_sse import stream_read

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _session(app, greeting: str) -> str:
    with transaction.atomic():
        character_publish(app, slug="luna", greeting=greeting)
        return services.session_create(app=app, character_slug="luna", external_user_ref="user_1").id


def _admin_cookie(user) -> str:
    """The session cookie of ``user`` signed in to the admin (the sessions live in the database the server reads;
    the test settings hash passwords with a hasher the server does not know, so the form login is not used)."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def test_bound_staff_open_their_apps_streams_with_their_admin_session(live_stack):  # noqa: F811
    app_a = accounts_services.app_create(name="app A")
    app_b = accounts_services.app_create(name="app B")
    session_a = _session(app_a, "Hello from A.")
    session_b = _session(app_b, "Hello from B.")
    users = get_user_model().objects
    bound = users.create_user("staff-b", password="pw", is_staff=True)
    accounts_services.app_staff_bind(user=bound, app=app_b)
    bound_cookie = _admin_cookie(bound)
    unbound_cookie = _admin_cookie(users.create_user("unbound", password="pw", is_staff=True))
    base = live_stack.base_url

    async def scenario():

        def read(session_id: str, cookie: str):
            return stream_read(base, session_id, "", headers={"Cookie": cookie}, until=lambda stream: stream.frames)

        return await asyncio.gather(
            read(session_b, bound_cookie), read(session_a, bound_cookie), read(session_b, unbound_cookie)
        )

    own, foreign, unbound = asyncio.run(scenario())
    assert own.status == 200
    assert own.events[0]["session_id"] == session_b and "Hello from B." in str(own.events)
    assert (foreign.status, foreign.error["detail"]["code"]) == (404, "session_not_found")  # another app's: absent
    assert (unbound.status, unbound.error["detail"]["code"]) == (401, "missing_api_key")
