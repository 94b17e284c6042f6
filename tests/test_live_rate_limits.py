"""The rate limiter over real HTTP: eight clients share one key across two web processes (two daphnes on
loopback, one Redis), each surface's 429 on the wire, and streams that are not counted.

Two processes only share a window through Redis, so this runs in production mode (``REDIS_URL`` set, as in
CI); the embedded default is one process by design and keeps its window in memory.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import aiohttp
import pytest
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.accounts.models import Plan
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from tests.live import PRODUCTION, LiveClient, live_stack_factory  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not PRODUCTION, reason="two web processes share a window only through Redis (REDIS_URL)"),
]

LIMIT = 20
CLIENTS = 8
REQUESTS_EACH = 8  # 64 requests in a few seconds against a limit of 20 a minute


def _header(response, name: str) -> str | None:
    """A response header by name, whatever case the server wrote it in (daphne lower-cases them)."""
    return {key.lower(): value for key, value in response.headers.items()}.get(name.lower())


def _key_on_plan(per_minute: int, name: str) -> tuple[str, object]:
    plan = Plan.objects.create(slug=f"live-{name}", name=name, requests_per_minute=per_minute)
    app = accounts_services.app_create(name=name, plan=plan)
    return accounts_services.api_key_create(app=app, name="live").raw_key, app


def test_eight_clients_on_two_web_processes_pass_exactly_the_limit(live_stack_factory):  # noqa: F811
    first, second = live_stack_factory(workers=0), live_stack_factory(workers=0)
    key, _ = _key_on_plan(LIMIT, "shared")
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> list[tuple[str, object]]:
        start.wait()
        answers = []
        for turn in range(REQUESTS_EACH):
            base_url = (first, second)[(index + turn) % 2].base_url  # every client alternates between them
            answers.append((base_url, LiveClient(base_url, key).get("/v1/characters")))
        return answers

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = [answer for answers in pool.map(client, range(CLIENTS)) for answer in answers]

    passed = [response for _, response in answers if response.status == 200]
    refused = [response for _, response in answers if response.status == 429]
    assert len(passed) == LIMIT
    assert len(refused) == CLIENTS * REQUESTS_EACH - LIMIT
    assert {base_url for base_url, response in answers if response.status == 200} == {first.base_url, second.base_url}
    for response in passed:
        assert _header(response, "X-RateLimit-Limit") == str(LIMIT)
        assert 0 <= int(_header(response, "X-RateLimit-Remaining")) < LIMIT
    assert min(int(_header(response, "X-RateLimit-Remaining")) for response in passed) == 0
    for response in refused:
        assert response.body["detail"]["code"] == "rate_limited"
        assert 1 <= int(_header(response, "Retry-After")) <= 60
        assert (_header(response, "X-RateLimit-Limit"), _header(response, "X-RateLimit-Remaining")) == ("20", "0")
        assert int(_header(response, "X-RateLimit-Reset")) > 0


def test_each_surface_answers_its_own_429_on_the_wire(live_stack_factory):  # noqa: F811
    stack = live_stack_factory(workers=0)
    cases = [
        ("/v1/characters", {}, lambda body: body["detail"]["code"] == "rate_limited"),
        ("/emotion/v1/presets", {}, lambda body: body["error"]["code"] == "RATE_LIMIT"),
        ("/npc/api/v1/sdk/personas", "x-api-key", lambda body: body["error"]["code"] == "rate_limited"),
    ]
    for path, header, shaped in cases:
        key, _ = _key_on_plan(1, path.strip("/").replace("/", "-"))
        client = LiveClient(stack.base_url, None if header else key)
        headers = {"X-API-Key": key} if header else {}
        assert client.get(path, headers=headers).status == 200
        refused = client.get(path, headers=headers)
        assert refused.status == 429, (path, refused.body)
        assert shaped(refused.body), (path, refused.body)
        assert int(_header(refused, "Retry-After")) >= 1 and _header(refused, "X-RateLimit-Limit") == "1"


async def _stream_opened(base_url: str, session_id: str, *, key: str = "", token: str = "") -> int:
    """Open the session's event stream, wait for its greeting comment, and hang up."""
    url = f"{base_url}/v1/sessions/{session_id}/events/stream" + (f"?token={quote(token)}" if token else "")
    headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {key}"} if key else {})}
    async with asyncio.timeout(20), aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        if response.status == 200:
            while not (await response.content.readline()).startswith(b": connected"):
                pass
        return response.status


def test_opening_streams_and_minting_stream_tokens_are_not_counted(live_stack_factory):  # noqa: F811
    stack = live_stack_factory(workers=0)
    key, app = _key_on_plan(2, "streams")
    with transaction.atomic():
        character_publish(app, slug="luna")
        session_id = services.session_create(app=app, character_slug="luna", external_user_ref="user_1").id
    client = LiveClient(stack.base_url, key)

    for _ in range(3):
        assert asyncio.run(_stream_opened(stack.base_url, session_id, key=key)) == 200
        minted = client.post(f"/v1/sessions/{session_id}/stream-token")
        assert minted.status == 201 and _header(minted, "X-RateLimit-Limit") is None
        assert asyncio.run(_stream_opened(stack.base_url, session_id, token=minted.data["token"])) == 200

    answers = [client.get(f"/v1/sessions/{session_id}") for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 429]
    assert _header(answers[0], "X-RateLimit-Remaining") == "1"
