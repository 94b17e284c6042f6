"""A writer in a real browser authors a character through the admin's form: fills fields, adds a voice sample
row, submits one value out of range and sees the error beside that field (nothing saved), fixes it, publishes,
edits and publishes a second version, and opens the diff of v1 and v2.

Headless Chromium (``tests/browser.py``) against the web process of a live stack, like the NPC admin's browser
test. Screenshots of the character page, the error and the diff go to ``var/screenshots/`` (git-ignored).
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from apps.accounts import services as accounts_services
from apps.characters.models import Character, CharacterVersion
from tests.browser import browser, page_submit, page_wait  # noqa: F401  (fixture)
from tests.live import PRODUCTION, LiveStack, live_stack_started

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "writer-password-1"
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """A web process only; in production mode it serves the collected static files (our form's JS and CSS)."""
    if PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    with django_db_blocker.unblock(), live_stack_started(workers=0) as started:
        yield started


def _fill(driver, element_id: str, text: str) -> None:
    element = driver.find_element("id", element_id)
    element.clear()
    element.send_keys(text)


def _row_inputs(driver, name: str) -> list:
    return driver.find_elements(
        "css selector", f"#id_{name} > .authoring-row textarea, #id_{name} > .authoring-row input"
    )


def _field_errors(driver, name: str) -> str:
    rows = driver.find_elements("css selector", f".form-row.field-{name} .errorlist")
    return " ".join(row.text for row in rows)


def test_a_writer_authors_publishes_and_diffs_a_character(stack, browser):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = accounts_services.app_create(name="writers' app")
    writer = get_user_model().objects.create_superuser("writer", "writer@example.com")
    hasher = PBKDF2PasswordHasher()  # the server accepts only the production hashers (few iterations: fast)
    writer.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    writer.save(update_fields=["password"])

    # the writer logs in and opens "Add character"
    add_path = "/admin/characters/character/add/"
    browser.get(f"{stack.base_url}/admin/login/?next={add_path}")
    browser.find_element("id", "id_username").send_keys("writer")
    browser.find_element("id", "id_password").send_keys(PASSWORD)
    page_submit(browser, "input[type=submit]")
    assert browser.current_url.endswith(add_path), browser.current_url
    page_wait(browser, "return !document.querySelector('#id_voice_samples .authoring-row-add').hidden", "the row JS")

    # fills the form: identity, greeting, three voice samples (one in a row they add), a bio, a threshold
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "id_app")).select_by_value(app.pk)
    _fill(browser, "id_slug", "aurora")
    _fill(browser, "id_display_name", "Aurora")
    _fill(browser, "id_greeting", "hey, you found me!")
    _fill(browser, "id_profile__visible_bio", "Night-shift astronomer.")
    rows = _row_inputs(browser, "voice_samples")
    assert len(rows) == 2  # the blank rows every list starts with
    rows[0].send_keys("honestly? the stars were extra loud tonight")
    rows[1].send_keys("tea first, questions later")
    browser.find_element("css selector", "#id_voice_samples .authoring-row-add").click()
    rows = _row_inputs(browser, "voice_samples")
    assert len(rows) == 3
    rows[2].send_keys("ok but did you SEE that comet")
    _fill(browser, "id_behavioral_thresholds__daily_image_cap", "500")
    page_submit(browser, "input[name=_continue]")

    # the error is beside that field; nothing was saved; what they typed is still there
    assert "Ensure this value is less than or equal to 100." in _field_errors(
        browser, "behavioral_thresholds__daily_image_cap"
    )
    assert not Character.objects.filter(slug="aurora").exists()
    assert len([row for row in _row_inputs(browser, "voice_samples") if row.get_attribute("value")]) == 3
    browser.execute_script(
        "document.querySelector('.field-behavioral_thresholds__daily_image_cap').scrollIntoView({block: 'center'})"
    )
    browser.save_screenshot(str(SCREENSHOTS / "character-field-error.png"))

    # they fix it and publish: version 1
    _fill(browser, "id_behavioral_thresholds__daily_image_cap", "5")
    publish = browser.find_element("id", "publish-button")
    assert publish.get_attribute("value") == "Publish as version 1"
    page_submit(browser, "#publish-button")
    assert "Published version 1." in browser.find_element("css selector", ".messagelist").text
    character = Character.objects.get(slug="aurora")
    assert character.current_version.content["behavioral_thresholds"] == {"daily_image_cap": 5}
    assert len(character.current_version.content["voice_samples"]) == 3
    browser.save_screenshot(str(SCREENSHOTS / "character-page.png"))

    # they change the greeting and publish version 2
    _fill(browser, "id_greeting", "oh! you're back.")
    assert browser.find_element("id", "publish-button").get_attribute("value") == "Publish as version 2"
    page_submit(browser, "#publish-button")
    assert "Published version 2." in browser.find_element("css selector", ".messagelist").text
    versions = CharacterVersion.objects.filter(character=character).order_by("version_number")
    assert [(v.version_number, v.published_by_id, v.published_via) for v in versions] == [
        (1, writer.pk, "admin"),
        (2, writer.pk, "admin"),
    ]
    history = browser.find_element("id", "version-history").text
    assert "writer" in history and "admin" in history

    # the diff of v1 and v2 (the history preselects the two newest) shows the changed greeting
    page_submit(browser, "#version-diff-submit")
    page_wait(browser, "return document.querySelector('tr[data-path=greeting]')", "the diff of v1 and v2")
    row = browser.find_element("css selector", 'tr[data-path="greeting"]')
    assert "changed" in row.text and "hey, you found me!" in row.text and "oh! you're back." in row.text
    assert len(browser.find_elements("css selector", ".diff-table tbody tr")) == 1
    browser.save_screenshot(str(SCREENSHOTS / "character-version-diff.png"))
