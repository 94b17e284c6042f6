"""A real browser uploads a character's face through the admin and sees it: the thumbnail actually loads (through
its signed URL) on the character's page, next to the selfie gates.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) against the live server, like
test_live_browser.py. The server keeps its files in a folder of this test run (``MEDIA_ROOT``).
"""

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.accounts import services as accounts_services
from apps.assets.models import VisualAsset
from apps.assets.tests.pictures import picture
from apps.characters.tests.factories import character_publish
from tests.live import live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MEDIA_ROOT = tempfile.mkdtemp(prefix="dramatis-live-media-")
LIVE_ENV = {"MEDIA_ROOT": MEDIA_ROOT}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DEADLINE = 20.0  # bounds a broken run; not a timed assertion


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


def _wait(driver, script: str, what: str):
    deadline = time.monotonic() + DEADLINE
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}; page: {driver.page_source[:3000]}", pytrace=False)
        time.sleep(0.05)


def test_an_author_uploads_a_face_and_sees_its_thumbnail_and_the_gates(live_stack, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    # given an author (a superuser) and a character whose anchors and thresholds are set
    author = get_user_model().objects.create_superuser("author", "author@example.com")
    # hashed for the server's settings (the suite's own hasher, MD5 for speed, is not one the server accepts)
    author.password = PBKDF2PasswordHasher().encode("pw-author-1", PBKDF2PasswordHasher().salt())
    author.save(update_fields=["password"])
    app = accounts_services.app_create(name="admin browser app")
    luna = character_publish(
        app,
        slug="luna",
        profile={"identity_anchors": {"hair": "silver bob"}},
        behavioral_thresholds={"image_proactivity": 0.5, "selfie_comfort": 0.6, "daily_image_cap": 3},
    ).character
    face = Path(tmp_path) / "face.jpg"
    face.write_bytes(picture("JPEG", size=(640, 480), colour=(180, 120, 200)))

    # when the author logs in and uploads the face through the admin
    browser.get(f"{live_stack.base_url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("author")
    browser.find_element(By.NAME, "password").send_keys("pw-author-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    _wait(browser, "return document.location.pathname === '/admin/'", "the admin index")
    browser.get(f"{live_stack.base_url}/admin/assets/visualasset/add/?character={luna.pk}")
    browser.find_element(By.NAME, "asset_key").send_keys("luna-face")
    browser.find_element(By.NAME, "label").send_keys("Luna, front")
    browser.find_element(By.NAME, "upload").send_keys(str(face))
    browser.find_element(By.NAME, "_save").click()
    _wait(browser, "return document.location.pathname === '/admin/assets/visualasset/'", "the asset list")
    assert VisualAsset.objects.get(character=luna).status == "active"

    # then the character's page shows the thumbnail, loaded, and every gate passing
    browser.get(f"{live_stack.base_url}/admin/characters/character/{luna.pk}/change/")
    width = _wait(
        browser,
        "const img = document.querySelector('img.visual-asset-thumbnail[alt=\"Luna, front\"]');"
        "return img && img.complete && img.naturalWidth;",
        "the thumbnail to load",
    )
    assert width == 256  # the WebP thumbnail of a 640x480 picture
    gates = browser.execute_script(
        "return [...document.querySelectorAll('li.visual-gate')].map(li => [li.className, li.textContent])"
    )
    assert [name for name, _ in gates] == ["visual-gate visual-gate-passed"] * 3, gates
    assert browser.find_element(By.CSS_SELECTOR, "p.visual-readiness").text == "ready"
