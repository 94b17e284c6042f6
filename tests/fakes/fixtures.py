"""Pytest fixtures for the fake servers, registered from the root conftest so every app's tests can use them."""

import pytest
from kombu import pools

from config.celery_app import app as celery_app
from tests.fakes.image_servers import FakeAutomatic1111, FakeComfyUI, FakeOpenAIImages
from tests.fakes.openai_server import DEFAULT_MODEL, FakeOpenAIServer
from tests.fakes.picture_host import FakePictureHost
from tests.fakes.telegram_server import FakeTelegramServer

FAKE_LLM_API_KEY = "sk-fake-test-key"


@pytest.fixture(scope="session")
def _fake_llm_server():
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server, settings) -> FakeOpenAIServer:
    """A fake OpenAI-compatible server on 127.0.0.1 that the LLM_* settings point at, in ``instant`` mode.

    Switch behaviour with ``fake_llm.set_mode("flaky", fail_times=2)``; assert on ``fake_llm.requests``.
    The default model (``LLM_CHAT_MODEL``) is ``fake-chat``, served by the OpenAI-compatible provider.
    """
    _fake_llm_server.reset()
    settings.LLM_BASE_URL = _fake_llm_server.base_url
    settings.LLM_API_KEY = FAKE_LLM_API_KEY
    settings.LLM_CHAT_MODEL = DEFAULT_MODEL
    settings.LLM_TIMEOUT_SECONDS = 5.0
    yield _fake_llm_server
    _fake_llm_server.reset()


# --- image servers (see tests/fakes/image_servers.py) ---------------------------------------------------
@pytest.fixture(scope="session")
def _fake_a1111_server():
    with FakeAutomatic1111() as server:
        yield server


@pytest.fixture
def fake_a1111(_fake_a1111_server) -> FakeAutomatic1111:
    """A fake AUTOMATIC1111 WebUI API on 127.0.0.1 in ``ok`` mode: point an image row's ``base_url`` at
    ``fake_a1111.base_url``; misbehave with ``fake_a1111.set_mode("fail")``; assert on
    ``fake_a1111.txt2img_requests`` / ``img2img_requests`` / ``requests``."""
    _fake_a1111_server.reset()
    yield _fake_a1111_server
    _fake_a1111_server.reset()


@pytest.fixture
def fake_a1111_model(db, fake_a1111):
    """The default image model: an ``automatic1111`` catalog row named ``fake-sd`` on ``fake_a1111`` (512x512,
    2 credits a picture, a 5-second timeout). Returns the row."""
    from apps.llm.tests.factories import image_model_create

    return image_model_create(
        name="fake-sd",
        provider="automatic1111",
        base_url=fake_a1111.base_url,
        is_default=True,
        timeout_seconds=5.0,
        credits_per_image=2,
    )


@pytest.fixture(scope="session")
def _fake_comfyui_server():
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def fake_comfyui(_fake_comfyui_server) -> FakeComfyUI:
    """A fake ComfyUI on 127.0.0.1 in ``ok`` mode; a prompt's outputs appear on its second history poll
    (``pending_polls``); assert on ``queued_workflows``, ``uploads``, ``history_polls``."""
    _fake_comfyui_server.reset()
    yield _fake_comfyui_server
    _fake_comfyui_server.reset()


@pytest.fixture(scope="session")
def _fake_openai_images_server():
    with FakeOpenAIImages() as server:
        yield server


@pytest.fixture
def fake_openai_images(_fake_openai_images_server) -> FakeOpenAIImages:
    """A fake OpenAI-compatible images API on 127.0.0.1 (``base_url`` ends in /v1), in ``ok`` mode."""
    _fake_openai_images_server.reset()
    yield _fake_openai_images_server
    _fake_openai_images_server.reset()


@pytest.fixture
def byok_llm(_fake_llm_server, settings) -> FakeOpenAIServer:
    """The fake OpenAI-compatible server as the bring-your-own-key endpoint (``LLM_BYOK_BASE_URL``) only: the
    platform's own models stay as configured (the offline ``scripted`` one by default), so every request the
    server records was made on a caller's key."""
    _fake_llm_server.reset()
    settings.LLM_BYOK_BASE_URL = _fake_llm_server.base_url
    settings.LLM_TIMEOUT_SECONDS = 5.0
    yield _fake_llm_server
    _fake_llm_server.reset()


# Where tests' Telegram channels say they live; the inbound URL is then "/hooks/telegram/<id>" on the test client.
TEST_PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _telegram_stays_local(settings):
    """No test ever talks to the real Telegram: unless a test asks for ``fake_telegram``, the Bot API is a
    closed local port (calls fail as "Telegram unreachable")."""
    settings.TELEGRAM_API_BASE_URL = "http://127.0.0.1:9"
    settings.TELEGRAM_TIMEOUT_SECONDS = 2.0


@pytest.fixture(scope="session")
def _fake_telegram_server():
    with FakeTelegramServer() as server:
        yield server


@pytest.fixture
def fake_telegram(_fake_telegram_server, settings) -> FakeTelegramServer:
    """A fake Bot API on 127.0.0.1 that TELEGRAM_API_BASE_URL points at, with PUBLIC_BASE_URL set.

    Make bots with ``fake_telegram.bot_create()``; misbehave with ``fake_telegram.fail("sendMessage",
    error_code=429, retry_after=1)``; assert on ``fake_telegram.calls`` / ``sent_texts()``.
    """
    _fake_telegram_server.reset()
    settings.TELEGRAM_API_BASE_URL = _fake_telegram_server.base_url
    settings.PUBLIC_BASE_URL = TEST_PUBLIC_BASE_URL
    yield _fake_telegram_server
    _fake_telegram_server.reset()


@pytest.fixture
def webhook_receiver():
    """A receiver on 127.0.0.1 that verifies both signatures with this secret; see tests/fakes/webhook_receiver.py."""
    from tests.fakes.webhook_receiver import WebhookReceiver

    with WebhookReceiver(secret="test-signing-secret-0123456789") as receiver:
        yield receiver


@pytest.fixture
def unreachable_broker(settings):
    """The celery executor, with Celery pointed at a port where nothing listens (a real refused connection)."""
    settings.RUN_EXECUTOR = "celery"
    previous = celery_app.conf.broker_url
    _broker_reconnect(celery_app, "redis://127.0.0.1:9/0")
    yield
    _broker_reconnect(celery_app, previous)


def _broker_reconnect(app, broker_url: str) -> None:
    """Drop Celery's and kombu's cached broker connections so the next publish dials ``broker_url``."""
    app.conf.broker_url = broker_url
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu keeps producer pools per broker URL process-wide; a closed one would be handed back


@pytest.fixture(scope="session")
def _fake_picture_host():
    with FakePictureHost() as host:
        yield host


@pytest.fixture
def picture_host(_fake_picture_host, settings) -> FakePictureHost:
    """An image host on 127.0.0.1 that register-url may fetch from (plain http and loopback allowed for the
    test). Script it with ``picture_host.serve("/face.png", png_bytes)``, which returns the URL."""
    _fake_picture_host.reset()
    settings.ASSET_FETCH_ALLOW_HTTP = True
    settings.ASSET_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    yield _fake_picture_host
    _fake_picture_host.reset()
