"""Images: drawn from a prompt with a catalog image model (metered per picture), listed a page at a time, and
inserted into a conversation as an agent message with no text."""

import httpx
import pytest

from apps.accounts.models import UsageRecord
from apps.api.studio.tests.conftest import assert_error
from apps.assets.models import GeneratedImage
from apps.characters.models import Character
from apps.conversations.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = {"prompt": "A serene beach at sunset with palm trees", "sd_model_id": "builtin"}


def _absolute(live_server, url: str) -> str:
    return url if "://" in url else live_server.url + url


def test_an_image_is_drawn_metered_and_served(studio, owner, live_server):
    response = studio.post("images", json=IMAGE)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("img_") and body["prompt"] == IMAGE["prompt"] and body["created_at"]
    image = GeneratedImage.objects.get(pk=body["id"], app=owner.api_key.app)
    assert (image.status, image.kind, image.model, image.session_id) == ("ready", "direct", "builtin", "")
    assert UsageRecord.objects.get(app=owner.api_key.app, resource_type="image").credits == image.credits
    picture = httpx.get(_absolute(live_server, body["url"]))
    assert picture.status_code == 200 and picture.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_image_for_a_conversation_is_a_message_without_text(studio, live_server, announced):
    conversation = studio.post("conversations", json={"messages": [{"role": "user", "content": "Draw me"}]}).json()

    response = studio.post("images", json={**IMAGE, "conversation_id": conversation["id"]})

    assert response.status_code == 201, response.text
    image = response.json()
    messages = studio.get(f"conversations/{conversation['id']}/messages").json()
    assert [(m["role"], m["content"]) for m in messages] == [("user", "Draw me"), ("agent", "")]
    assert messages[-1]["image"]["id"] == image["id"]
    assert httpx.get(_absolute(live_server, messages[-1]["image"]["url"])).status_code == 200
    [event] = Event.objects.filter(session_id=conversation["id"], event_type="image.ready")
    assert event.payload["kind"] == "direct"
    assert any(e["event_type"] == "image.ready" and e["session_id"] == conversation["id"] for e in announced)
    assert studio.get(f"conversations/{conversation['id']}").json()["last_message_at"] == messages[-1]["created_at"]


def test_images_are_listed_a_page_at_a_time(studio, other_studio):
    ids = [studio.post("images", json={**IMAGE, "prompt": f"Picture {n}"}).json()["id"] for n in range(5)]
    other_studio.post("images", json=IMAGE)

    first = studio.get("images", params={"page": 1, "page_size": 2}).json()
    last = studio.get("images", params={"page": 3, "page_size": 2}).json()
    beyond = studio.get("images", params={"page": 4, "page_size": 2}).json()

    assert [item["id"] for item in first["data"]] == ids[::-1][:2]
    assert first["pagination"] == {
        "total_items": 5,
        "current_page": 1,
        "page_size": 2,
        "total_pages": 3,
        "next_page": 2,
        "prev_page": None,
    }
    assert [item["id"] for item in last["data"]] == [ids[0]]
    assert (last["pagination"]["next_page"], last["pagination"]["prev_page"]) == (None, 2)
    assert beyond["data"] == [] and beyond["pagination"]["total_items"] == 5
    default = studio.get("images").json()
    assert default["pagination"]["page_size"] == 10 and len(default["data"]) == 5


@pytest.mark.parametrize(
    ("params", "field"), [({"page": 0}, "page"), ({"page_size": 101}, "page_size"), ({"page": "x"}, "page")]
)
def test_a_bad_page_is_400(studio, params, field):
    assert field in assert_error(studio.get("images", params=params), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sd_model_id": "builtin"}, "prompt"),
        ({"prompt": "x"}, "sd_model_id"),
        ({"prompt": "x", "sd_model_id": "no-such-model"}, "no-such-model"),
        ({"prompt": "", "sd_model_id": "builtin"}, "prompt"),
    ],
)
def test_bad_input_is_400_and_draws_nothing(studio, body, field):
    assert field in assert_error(studio.post("images", json=body), 400)
    assert not GeneratedImage.objects.exists() and not UsageRecord.objects.exists()
    assert not Character.objects.exists()


def test_another_apps_conversation_is_404_and_draws_nothing(studio, other_studio):
    theirs = other_studio.post("conversations", json={"title": "Theirs"}).json()

    assert_error(studio.post("images", json={**IMAGE, "conversation_id": theirs["id"]}), 404)
    assert not GeneratedImage.objects.exists()
    assert not Event.objects.filter(session_id=theirs["id"]).exists()


def test_without_room_in_the_budget_it_is_402_and_draws_nothing(studio, broke):
    assert assert_error(studio.post("images", json=IMAGE), 402).startswith("Insufficient account balance")
    assert not GeneratedImage.objects.exists() and not UsageRecord.objects.exists()
    assert not Character.objects.exists()  # not even the built-in assistant the picture would belong to


def test_without_a_key_it_is_401(anon_studio):
    assert_error(anon_studio.post("images", json=IMAGE), 401)
    assert_error(anon_studio.get("images"), 401)
    assert not GeneratedImage.objects.exists()
