"""Each path that takes an image in (an upload, a URL to fetch, a character card's picture) crossed at its byte and
pixel limits: at the limit the image is taken; one byte or one pixel over, the surface's 422 names the setting and
nothing is written (no row, no file). Studio and the OpenAI door only generate images: they take none in.

The request body's own limit (``UPLOAD_REQUEST_MAX_BYTES``, 413 before the body is read) is in
``tests/test_resource_limits.py``."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.api.native.tests.contract import assert_error
from apps.api.native.tests.test_visual_assets import _stored_names
from apps.assets.tests.cards_for_tests import encoded, png_card, v2_card
from apps.assets.tests.pictures import picture
from apps.characters.tests.factories import character_publish

WIDTH, HEIGHT = 120, 80
PICTURE = picture("PNG", size=(WIDTH, HEIGHT))
CARD = png_card({"chara": encoded(v2_card())}, base=PICTURE)

# path: (what is sent, (its byte limit, the refusal's code), (its pixel limit, the refusal's code))
PATHS = {
    "upload": (PICTURE, ("ASSET_MAX_BYTES", "image_rejected"), ("ASSET_MAX_PIXELS", "image_rejected")),
    "register-url": (PICTURE, ("ASSET_MAX_BYTES", "image_rejected"), ("ASSET_MAX_PIXELS", "image_rejected")),
    "card import": (CARD, ("CARD_MAX_BYTES", "card_too_large"), ("CARD_MAX_PIXELS", "card_image_bomb")),
}


def _send(api, path: str, data: bytes, picture_host):
    if path == "upload":
        body = {"asset_key": "face", "category": "identity", "file": SimpleUploadedFile("f.png", data, "image/png")}
        return api.post("/v1/characters/luna/visual-assets", body, format="multipart")
    if path == "register-url":
        url = picture_host.serve("/face.png", data)
        body = {"url": url, "asset_key": "face", "category": "identity"}
        return api.post("/v1/characters/luna/visual-assets/register-url", body, format="json")
    return api.generic("POST", "/v1/characters/import", data, content_type="image/png")


@pytest.mark.parametrize("limit", ["bytes", "pixels"])
@pytest.mark.parametrize("path", list(PATHS))
def test_an_image_one_over_its_limit_is_refused_and_writes_nothing(
    path, limit, api, owner, settings, picture_host, nothing_written
):
    character_publish(owner.api_key.app, slug="luna")
    data, by_bytes, by_pixels = PATHS[path]
    (setting, code), size = (by_bytes, len(data)) if limit == "bytes" else (by_pixels, WIDTH * HEIGHT)
    stored = _stored_names()

    setattr(settings, setting, size - 1)
    with nothing_written():
        detail = assert_error(_send(api, path, data, picture_host), 422, code)
    assert setting in detail["message"]
    assert _stored_names() == stored  # no file either

    setattr(settings, setting, size)
    response = _send(api, path, data, picture_host)
    assert response.status_code == 201, response.content
