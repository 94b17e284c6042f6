"""A real browser reads a character's reply over SSE with a stream token, from another origin (CORS).

Headless Chromium (``tests/browser.py``: Debian's ``chromium`` and ``chromium-driver``, installed by ``.ci/run``)
loads a page served by a small HTTP server on its own port, so the page's origin differs from the API's and
the server must allow it (``CORS_ALLOWED_ORIGINS``). The page mints nothing and holds no key: the test mints
a stream token with the app's key, hands the page the stream URL, and the page opens
``new EventSource(url)``. The test then sends a message through the API and waits until the page has
received the character's reply.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from tests.browser import browser, page_wait  # noqa: F401  (fixture)
from tests.live import free_port, live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PAGE_PORT = free_port()
PAGE_ORIGIN = f"http://127.0.0.1:{PAGE_PORT}"
LIVE_ENV = {"CORS_ALLOWED_ORIGINS": PAGE_ORIGIN}

PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>stream token demo</title>
<script>
  // The stream URL (with its token) comes in the fragment, as a backend would render it into the page.
  window.received = [];
  window.state = "connecting";
  const source = new EventSource(decodeURIComponent(location.hash.slice(1)));
  source.onopen = () => { window.state = "open"; };
  source.onerror = () => { window.state = "error:" + source.readyState; };
  source.onmessage = (message) => { window.received.push(JSON.parse(message.data)); };
</script>
"""


class PageHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def page_server():
    server = ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield PAGE_ORIGIN
    server.shutdown()
    server.server_close()


def _wait(driver, script: str, what: str):
    def state() -> str:
        return json.dumps(driver.execute_script("return [window.state, window.received]"))[:2000]

    return page_wait(driver, script, what, describe=state)


def test_a_browser_reads_the_reply_with_a_stream_token(live_stack, page_server, browser):  # noqa: F811
    # given an app's session, and a stream token minted by the app's backend with its key
    app = accounts_services.app_create(name="browser app")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    with transaction.atomic():
        character_publish(app, slug="luna", greeting="Hi, I'm Luna.")
        session_id = services.session_create(app=app, character_slug="luna", external_user_ref="user_1").id
    client = live_stack.client(key)
    minted = client.post(f"/v1/sessions/{session_id}/stream-token")
    assert minted.status == 201, minted.body
    stream_url = live_stack.base_url + minted.data["stream_url"]
    assert key not in stream_url

    # when a page on another origin opens the stream with it
    browser.get(f"{page_server}/#{stream_url}")
    _wait(browser, "return window.received.length >= 1", "the greeting from the backlog")
    assert browser.execute_script("return window.state") == "open"

    # and the user's message goes through the API
    sent = client.post(f"/v1/sessions/{session_id}/messages", {"text": "hello from the browser"})
    assert sent.status == 202, sent.body

    # then the page received the character's reply, the same event that polling returns
    reply = _wait(
        browser,
        "return window.received.find(e => e.event_type === 'message.created' && e.role === 'character')",
        "the character's reply",
    )
    assert reply["payload"]["reply_to_cursor"] == sent.data["cursor"]
    assert reply in client.events(session_id)
    received = browser.execute_script("return window.received")
    assert [event["cursor"] for event in received] == list(range(1, len(received) + 1))
