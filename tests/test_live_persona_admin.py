"""A writer in a real browser: opens a character's persona page, picks a preset, moves a trait slider and sees the
live preview (the engine's derived config and resting mood, asked of the server) change before saving, saves,
then opens "Try it", sends a test message and sees the reply and the emotion change.

Headless Chromium (``tests/browser.py``) talks to the web process of a live stack. The turn runs the way the API's
would: queued by ``message_send`` and answered by the stack's worker (a Celery worker in production mode, the
in-process pool on the embedded default) with the offline ``scripted`` model. Screenshots of both pages go to
``var/screenshots/``.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from apps.accounts import services as accounts_services
from apps.characters import services as characters_services
from apps.conversations.models import Event, Run
from apps.personas.models import CharacterPersona
from tests.browser import browser, page_submit, page_wait  # noqa: F401  (fixture)
from tests.live import PRODUCTION, LiveStack, live_stack_started

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "writer-password-1"
SCREENSHOTS = settings.VAR_DIR / "screenshots"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """A web process and one worker (the turn is answered by it). In production mode the web process serves
    static files from STATIC_ROOT, so collect them first, as the release step does."""
    if PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    with django_db_blocker.unblock(), live_stack_started(workers=1) as started:
        yield started


def _preview(driver) -> dict:
    return driver.execute_script(
        "const e = document.getElementById('persona-editor');"
        "return {count: +(e.dataset.previewCount || 0), state: e.dataset.previewState,"
        " mood: (document.getElementById('persona-preview-resting') || {}).innerText,"
        " summary: (document.getElementById('persona-preview-summary') || {}).innerText,"
        " config: document.getElementById('persona-preview-config').textContent}"
    )


def _preview_after(driver, count: int, what: str) -> dict:
    page_wait(
        driver,
        f"const e = document.getElementById('persona-editor');"
        f"return +(e.dataset.previewCount || 0) > {count} && e.dataset.previewState === 'ok'",
        what,
    )
    return _preview(driver)


def test_a_writer_tunes_a_persona_with_a_live_preview_then_tries_the_character(stack, browser):  # noqa: F811
    # given a published character with a persona, and a superuser writer
    app = accounts_services.app_create(name="writers' app")
    character = characters_services.character_publish(
        app=app, data={"slug": "mira", "display_name": "Mira", "greeting": "Hello, I'm Mira."}
    ).character
    persona = CharacterPersona.objects.create(character=character, spec={})
    writer = get_user_model().objects.create_superuser("writer", "writer@example.com")
    hasher = PBKDF2PasswordHasher()  # the server accepts only the production hashers (few iterations: in the hash)
    writer.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    writer.save(update_fields=["password"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # when the writer logs in and opens the persona page
    change_path = f"/admin/personas/characterpersona/{persona.pk}/change/"
    browser.get(f"{stack.base_url}/admin/login/?next={change_path}")
    browser.find_element("id", "id_username").send_keys("writer")
    browser.find_element("id", "id_password").send_keys(PASSWORD)
    page_submit(browser, "input[type=submit]")
    assert browser.current_url.endswith(change_path), browser.current_url
    neutral = _preview_after(browser, 0, "the first preview")

    # and picks a preset: the sliders and goals fill from it, and the preview follows
    Select(browser.find_element("id", "id_preset")).select_by_value("stoic_mentor")
    assert browser.find_element("id", "id_trait_C").get_attribute("value") == "0.85"
    assert browser.execute_script("return document.querySelector('output[for=id_trait_C]').textContent") == "0.85"
    goals = browser.execute_script("return [...document.querySelectorAll('input[name=goals]')].map(i => i.value)")
    assert goals == ["help the user grow", "give honest guidance", "stay composed"]
    stoic = _preview_after(browser, neutral["count"], "the preview of the preset")
    assert stoic["summary"] != neutral["summary"] and '"reappraisal"' in stoic["config"]

    # and moves the neuroticism slider up with the keyboard, as a writer can
    slider = browser.find_element("id", "id_trait_N")
    for _ in range(50):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert browser.find_element("id", "id_trait_N").get_attribute("value") == "0.65"
    facet = browser.execute_script("return document.getElementById('id_facet_anxiety').value")
    assert facet == "0.65"  # the facets follow their trait
    anxious = _preview_after(browser, stoic["count"], "the preview after the slider moved")
    assert anxious["summary"] != stoic["summary"] or anxious["mood"] != stoic["mood"]
    assert anxious["config"] != stoic["config"]
    browser.execute_script("document.getElementById('persona-preview-config-box').open = true")
    browser.execute_script("document.querySelector('.persona-facets').open = true; window.scrollTo(0, 0)")
    browser.set_window_size(1400, 2600)  # the whole form in one picture
    browser.save_screenshot(str(SCREENSHOTS / "persona-page.png"))
    browser.set_window_size(1400, 1000)
    assert CharacterPersona.objects.get(pk=persona.pk).spec == {}  # nothing saved yet

    # and saves
    page_submit(browser, "input[name=_continue]")
    assert "was changed successfully" in browser.find_element("css selector", ".messagelist").text
    assert CharacterPersona.objects.get(pk=persona.pk).spec == {"preset": "stoic_mentor", "personality": {"N": 0.65}}

    # then opens Try it and sends a test message
    browser.find_element("id", "persona-try-link").click()
    page_wait(browser, "return document.getElementById('try-form')", "the Try-it page")
    assert "v1" in browser.find_element("id", "try-version").text
    assert "scripted" in browser.find_element("id", "try-model").text
    browser.find_element("id", "id_text").send_keys("Thank you, you are wonderful and so helpful!")
    page_submit(browser, "#try-send")

    # and sees the reply and the emotion change once the worker has answered
    page_wait(browser, "const t = document.getElementById('try-turn'); return t && t.dataset.finished === '1'",
              "the turn to finish")  # fmt: skip
    run = Run.objects.get(session__character=character)
    assert run.status == "succeeded", (run.status, run.error_code, run.error_message)
    reply = Event.objects.get(session=run.session, event_type="message.created", role="character")
    bubbles = browser.execute_script(
        "return [...document.querySelectorAll('.try-bubble.character')].map(b => b.textContent)"
    )
    assert bubbles == reply.payload["bubbles"]
    emotion = Event.objects.get(session=run.session, event_type="emotion.updated").payload
    shown = browser.find_element("id", "try-discrete-after").text
    assert emotion["discrete_emotion"]["primary"] in shown
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#try-emotion tbody tr')].map(r => [...r.cells].map(c => c.innerText))"
    )
    valence = next(row for row in rows if row[0] == "Valence")
    assert valence[1] != valence[2]  # before -> after
    assert browser.find_element("id", "try-appraisal").text
    assert run.session.external_user_ref == "admin-try:writer"
    browser.set_window_size(1400, 1300)
    browser.save_screenshot(str(SCREENSHOTS / "try-it.png"))
