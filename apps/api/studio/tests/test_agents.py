"""Agents: a character of the app, with an avatar drawn from its appearance prompt by the image model named."""

import httpx
import pytest

from apps.accounts.models import UsageRecord
from apps.api.studio.tests.conftest import assert_error
from apps.assets.models import GeneratedImage, VisualAsset
from apps.characters.models import Character

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = {
    "name": "Financial Advisor",
    "appearance_prompt": "Professional, suit and tie",
    "personality_prompt": "Knowledgeable about finance, patient",
    "description": "An agent specialized in financial advice",
    "sd_model_id": "builtin",
    "age": 35,
}


def test_an_agent_is_a_published_character_with_a_drawn_avatar(studio, owner, live_server):
    response = studio.post("agents", json=AGENT)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("char_")
    assert {key: body[key] for key in ("name", "personality_prompt", "description")} == {
        "name": "Financial Advisor",
        "personality_prompt": "Knowledgeable about finance, patient",
        "description": "An agent specialized in financial advice",
    }
    assert body["appearance_prompt"] == "35 years old, Professional, suit and tie"
    character = Character.objects.get(pk=body["id"], app=owner.api_key.app)
    content = character.current_version.content
    assert content["display_name"] == "Financial Advisor"
    assert content["profile"]["identity_anchors"] == {"appearance": "35 years old, Professional, suit and tie"}
    # The avatar: drawn from the appearance, metered, and the character's identity (what its selfies keep).
    image = GeneratedImage.objects.get(character=character)
    assert image.status == "ready" and image.kind == "direct" and image.prompt.startswith("35 years old")
    assert VisualAsset.objects.filter(character=character, category="identity", status="active").count() == 1
    assert UsageRecord.objects.filter(app=owner.api_key.app, resource_type="image").count() == 1
    picture = httpx.get(body["avatar_url"] if "://" in body["avatar_url"] else live_server.url + body["avatar_url"])
    assert picture.status_code == 200 and picture.headers["Content-Type"].startswith("image/")


def test_agents_are_listed_and_read_by_id(studio, other_studio):
    first = studio.post("agents", json=AGENT).json()
    second = studio.post("agents", json={**AGENT, "name": "Technical Advisor", "age": None}).json()
    other_studio.post("agents", json={**AGENT, "name": "Theirs"})

    listed = studio.get("agents").json()
    assert [agent["id"] for agent in listed] == [second["id"], first["id"]]  # newest first, only the app's
    assert listed[0]["appearance_prompt"] == "Professional, suit and tie"  # no age: nothing prepended
    read = studio.get(f"agents/{first['id']}")
    assert read.status_code == 200
    assert {key: read.json()[key] for key in ("id", "name", "appearance_prompt")} == {
        key: first[key] for key in ("id", "name", "appearance_prompt")
    }
    assert read.json()["avatar_url"]


def test_another_apps_agent_is_404(studio, other_studio):
    theirs = other_studio.post("agents", json=AGENT).json()
    assert_error(studio.get(f"agents/{theirs['id']}"), 404)
    assert_error(studio.get("agents/char_doesnotexist"), 404)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": 17}, "age"),
        ({"age": "old"}, "age"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"sd_model_id": None}, "sd_model_id"),
        ({"sd_model_id": "no-such-model"}, "no-such-model"),
        ({"sd_model_id": "scripted"}, "scripted"),  # a chat model is not an image model
    ],
)
def test_bad_input_is_400_and_writes_nothing(studio, change, field):
    body = {**AGENT, **change}
    message = assert_error(studio.post("agents", json=body), 400)

    assert field in message
    assert not Character.objects.exists() and not GeneratedImage.objects.exists()


def test_a_missing_required_field_is_400(studio):
    body = {key: value for key, value in AGENT.items() if key != "sd_model_id"}
    assert "sd_model_id" in assert_error(studio.post("agents", json=body), 400)
    assert not Character.objects.exists()


def test_without_room_for_the_avatar_it_is_402_and_writes_nothing(studio, broke):
    message = assert_error(studio.post("agents", json=AGENT), 402)

    assert message.startswith("Insufficient account balance")
    assert not Character.objects.exists() and not GeneratedImage.objects.exists()
    assert not UsageRecord.objects.exists()


def test_without_a_key_it_is_401(anon_studio):
    assert_error(anon_studio.post("agents", json=AGENT), 401)
    assert_error(anon_studio.get("agents"), 401)
    assert not Character.objects.exists()
