"""``POST /openai/v1/images/generations``: pictures from a prompt with an image model (the built-in renderer
here), as signed URLs or base64, metered on the ledger like every image; refused before anything is drawn
or charged when the model is unknown or a budget has no room."""

import base64
import io
from decimal import Decimal

import pytest
from PIL import Image

from apps.accounts import services as accounts_services
from apps.accounts.models import UsageRecord

pytestmark = pytest.mark.django_db

URL = "/openai/v1/images/generations"


def test_a_picture_as_a_url_that_serves_it(api, owner, anon):
    response = api.post(URL, {"prompt": "a lighthouse at dusk", "size": "128x96"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body["created"], int)
    (picture,) = body["data"]
    assert picture["url"].startswith("http://testserver/v1/files/")
    served = anon.get(picture["url"].removeprefix("http://testserver"))
    assert served.status_code == 200
    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as image:
        assert image.size == (128, 96)
    (record,) = UsageRecord.objects.filter(app=owner.api_key.app)
    assert (record.model, record.purpose, record.status, record.outcome) == ("builtin", "image", "settled", "succeeded")
    assert record.credits == Decimal("10")


def test_several_pictures_as_base64_are_charged_per_picture(api, owner):
    response = api.post(URL, {"prompt": "a fox", "n": 2, "response_format": "b64_json", "user": "u-1"}, format="json")

    assert response.status_code == 200, response.content
    pictures = response.json()["data"]
    assert len(pictures) == 2 and all("url" not in picture for picture in pictures)
    for picture in pictures:
        with Image.open(io.BytesIO(base64.b64decode(picture["b64_json"]))) as image:
            assert image.format == "PNG"
    (record,) = UsageRecord.objects.filter(app=owner.api_key.app)
    assert (record.credits, record.external_user_ref) == (Decimal("20"), "u-1")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": 7}, "prompt"),
        ({"prompt": "x", "n": 0}, "n"),
        ({"prompt": "x", "n": 5}, "n"),
        ({"prompt": "x", "size": "huge"}, "size"),
        ({"prompt": "x", "size": "10x10"}, "size"),
        ({"prompt": "x", "response_format": "gif"}, "response_format"),
        ({"prompt": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_draws_nothing(api, body, param):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("model", ["no-such-painter", "scripted", "character:luna"])
def test_a_model_that_cannot_draw_is_model_not_found(api, luna, model):
    response = api.post(URL, {"prompt": "x", "model": model}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert not UsageRecord.objects.exists()


def test_no_room_in_the_budget_is_402_insufficient_quota_and_nothing_drawn(api, owner):
    accounts_services.budget_policy_set(app=owner.api_key.app, limit_credits=Decimal("15"))

    response = api.post(URL, {"prompt": "x", "n": 2}, format="json")

    assert response.status_code == 402
    assert response["x-should-retry"] == "false"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert not UsageRecord.objects.exists()


def test_images_need_a_key(anon):
    response = anon.post(URL, {"prompt": "x"}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert not UsageRecord.objects.exists()
