"""A superuser in a real browser uses the playground: signs in through the admin's login, picks an app's character
and an end-user ref, sends a message, sees the reply arrive over the session's stream and the emotion panel change,
and opens the reply's prompt context; asks another character for a selfie and sees it arrive; plays an NPC's
scenario and sees its state and score move.

Headless Chromium (``tests/browser.py``) against a live stack: the web process serves the page, its script and the
native SSE stream; the turn is queued by ``message_send`` and answered by the stack's worker (a Celery worker in
production mode, the in-process pool on the embedded default) with the offline ``scripted`` model. A screenshot of
the page goes to ``var/screenshots/playground.png``.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import transaction
from selenium.webdriver.support.ui import Select

from apps.accounts import services as accounts_services
from apps.assets.tests.factories import identity_asset_create, selfie_character_fields
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event, Run
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core.executor import IMAGES_QUEUE
from apps.npcs import services as npcs_services
from tests.browser import browser, page_submit, page_wait  # noqa: F401  (fixture)
from tests.live import PRODUCTION, LiveStack, live_stack_started

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "operator-password-1"
SCREENSHOTS = settings.VAR_DIR / "screenshots"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """A web process and a worker. In production mode the web process serves static files from STATIC_ROOT, so
    collect them first, as the release step does; a second Celery worker draws the selfies (the ``images`` queue,
    which the embedded default's in-process pool serves too)."""
    if PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    # The test writes the selfie character's face where the worker and the web process look for files.
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    with django_db_blocker.unblock(), live_stack_started(env=env, workers=1) as started:
        if PRODUCTION:
            started.start_worker("images", queues=IMAGES_QUEUE)
        yield started


def _operator() -> None:
    """A superuser who signs in with ``PASSWORD`` through the login form."""
    operator = get_user_model().objects.create_superuser("operator", "operator@example.com")
    hasher = PBKDF2PasswordHasher()  # the server accepts only the production hashers (few iterations: fast)
    operator.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    operator.save(update_fields=["password"])


def _open(driver, app, option: str, user_ref: str = "playground-user-1") -> None:
    """Pick ``app`` and the cast member ``option`` (``character:<id>`` or ``npc:<id>``), open, and wait for the
    stream and the first line."""
    Select(driver.find_element("id", "pg-app")).select_by_value(app.pk)
    page_wait(driver, f"return document.querySelector('#pg-cast option[value=\"{option}\"]')", "the app's cast")
    Select(driver.find_element("id", "pg-cast")).select_by_value(option)
    field = driver.find_element("id", "pg-user")
    field.clear()
    field.send_keys(user_ref)
    driver.find_element("id", "pg-open").click()
    page_wait(driver, "return document.getElementById('playground').dataset.state === 'open'", "the stream to open")
    page_wait(driver, "return +document.getElementById('playground').dataset.replies >= 1", "the first line")


def _send(driver, text: str) -> None:
    driver.find_element("id", "pg-text").send_keys(text)
    driver.find_element("id", "pg-send-button").click()


def _sign_in(driver, base_url: str) -> None:
    driver.get(f"{base_url}/playground/")  # not signed in: the admin's login, coming back here after
    page_wait(driver, "return document.getElementById('id_username')", "the admin's login form")
    assert "/admin/login/?next=/playground/" in driver.current_url, driver.current_url
    driver.find_element("id", "id_username").send_keys("operator")
    driver.find_element("id", "id_password").send_keys(PASSWORD)
    page_submit(driver, "input[type=submit]")


def _emotion(driver) -> dict:
    return driver.execute_script(
        "return {updates: +document.getElementById('pg-emotion').dataset.updates,"
        " primary: document.getElementById('pg-emotion-primary').textContent,"
        " vad: ['v', 'a', 'd'].map(k => document.getElementById('pg-emotion-' + k + '-value').textContent)}"
    )


def test_a_superuser_talks_to_a_character_and_opens_a_replys_prompt_context(stack, browser):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = accounts_services.app_create(name="playground app")
    with transaction.atomic():
        greeting = "Hi, I'm Luna. Ask me anything."
        character = character_publish(app, slug="luna", display_name="Luna", greeting=greeting).character
    _operator()

    # the operator signs in and lands on the playground, picks the app, the character and an end-user ref; the
    # greeting arrives over the stream and the emotion panel shows the state the session starts in
    _sign_in(browser, stack.base_url)
    assert browser.current_url.endswith("/playground/"), browser.current_url
    _open(browser, app, f"character:{character.pk}")
    assert browser.find_element("id", "pg-cast").text.strip() == "Luna (luna)"
    before = _emotion(browser)
    assert before["updates"] == 0 and before["primary"] != "—"

    # sends a message: it shows at once, then the reply streams in and the emotion panel changes
    _send(browser, "Thank you, you are wonderful and so kind!")
    page_wait(browser, "return document.querySelector('#pg-log .pg-user')", "the user's message on the page")
    page_wait(browser, "return document.querySelector('#pg-log .pg-character[data-run-ref]')", "the reply")
    page_wait(browser, "return +document.getElementById('pg-emotion').dataset.updates >= 1", "the emotion update")

    run = Run.objects.get(session__character__slug="luna")
    assert run.status == "succeeded", (run.status, run.error_code, run.error_message)
    assert run.session.external_user_ref == "playground-user-1" and run.session.app_id == app.pk
    reply = Event.objects.get(session=run.session, event_type="message.created", role="character")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#pg-log .pg-character[data-run-ref] .pg-reply')].map(b => b.textContent)"
    )
    assert shown == reply.payload["bubbles"]
    # it was shown token by token while it was written (message.delta), then replaced by its bubbles
    streamed = browser.execute_script(
        "return [+document.getElementById('playground').dataset.deltas,"
        " document.querySelector('#pg-log .pg-character[data-run-ref]').dataset.streamedChars]"
    )
    assert streamed[0] >= 1 and int(streamed[1]) == len(reply.payload["text"]), streamed
    user_rows = browser.execute_script("return [...document.querySelectorAll('#pg-log .pg-user')].length")
    assert user_rows == 1  # the message shown at once is the one the stream confirmed, not a second copy
    after = _emotion(browser)
    emotion = Event.objects.get(session=run.session, event_type="emotion.updated").payload
    assert emotion["discrete_emotion"]["primary"] in after["primary"]
    assert after["vad"] != before["vad"]  # praise moved the mood

    # opens the reply's prompt context in the side panel
    browser.find_element("css selector", f'#pg-log [data-run-ref="{run.pk}"] .pg-context-link').click()
    page_wait(browser, f"return document.getElementById('pg-context').dataset.runRef === '{run.pk}'", "the context")
    panel = browser.find_element("id", "pg-context")
    assert panel.is_displayed()
    text = panel.text
    assert run.model in text and "Parts" in text and "tokens" in text
    sources = browser.execute_script(
        "return [...document.querySelectorAll('#pg-context-body table')[0].querySelectorAll('tbody tr')]"
        ".map(r => r.cells[0].textContent)"
    )
    assert sources == [part["source"] for part in run.context["parts"]]

    browser.set_window_size(1400, 1100)
    browser.execute_script("window.scrollTo(0, 0)")  # the whole page, from its heading, in the screenshot
    browser.save_screenshot(str(SCREENSHOTS / "playground.png"))


def test_a_selfie_shows_as_a_placeholder_then_as_the_picture(stack, browser):  # noqa: F811
    app = accounts_services.app_create(name="selfie app")
    with transaction.atomic():
        fields = {"greeting": "Mira here, camera in hand.", **selfie_character_fields()}
        mira = character_publish(app, slug="mira", display_name="Mira", **fields).character
        identity_asset_create(mira)
    _operator()

    _sign_in(browser, stack.base_url)
    _open(browser, app, f"character:{mira.pk}")
    _send(browser, "can I see a pic of you?")  # the offline model sends a selfie when asked for one

    # the reply names the pending selfie; the worker draws it and image.ready swaps in the picture
    page_wait(browser, "return document.querySelector('#pg-log .pg-selfie img')", "the selfie's picture")
    loaded = "const img = document.querySelector('#pg-log .pg-selfie img'); return img.complete && img.naturalWidth"
    page_wait(browser, loaded, "the picture to load from its signed URL")
    run = Run.objects.get(session__character=mira)
    reply = Event.objects.get(session=run.session, event_type="message.created", role="character")
    figure = browser.find_element("css selector", "#pg-log .pg-selfie")
    assert figure.get_attribute("data-image-id") == reply.payload["selfie"]["image_id"]
    assert browser.find_element("css selector", "#pg-log .pg-selfie img").get_attribute("alt") == "Here you go!"


def test_an_npc_scenario_shows_its_state_and_score_moving(stack, browser):  # noqa: F811
    app = accounts_services.app_create(name="npc app")
    npc = npcs_services.npc_save(app=app, body=scenario_body())
    _operator()

    _sign_in(browser, stack.base_url)
    _open(browser, app, f"npc:{npc.pk}")
    assert browser.find_element("id", "pg-npc").is_displayed()
    assert browser.find_element("id", "pg-npc-state").text == "start"
    assert browser.find_element("id", "pg-npc-score").text == "0"

    # "hello" passes the gate's first state (a keyword matcher, so the offline model decides nothing)
    _send(browser, "hello there")
    page_wait(browser, "return +document.getElementById('playground').dataset.replies >= 2", "the NPC's reply")
    page_wait(browser, "return document.getElementById('pg-npc-state').textContent === 'trust'", "the new state")
    assert browser.find_element("id", "pg-npc-score").text == "2"
    assert browser.find_element("id", "pg-npc-decision").text == "pass"
    assert browser.find_element("id", "pg-npc-outcome").text == "playing"
