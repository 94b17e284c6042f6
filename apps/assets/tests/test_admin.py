"""The admin: upload through the service's checks, promote and retire with actions, thumbnails and the selfie
gates on the character's page."""

import re

from django.contrib.admin.utils import quote
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.assets.models import VisualAsset
from apps.assets.tests.pictures import SVG, picture
from apps.characters.tests.factories import character_publish

ADD = "admin:assets_visualasset_add"


def _add(admin_client, character, data: bytes, *, name="face.png", **fields):
    body = {"character": character.pk, "asset_key": "face", "category": "identity", **fields}
    body["upload"] = SimpleUploadedFile(name, data, content_type="image/png")
    return admin_client.post(reverse(ADD), body)


def test_upload_through_the_admin_form_runs_the_services_checks(admin_client, owner):
    luna = character_publish(owner.api_key.app, slug="luna").character
    form = admin_client.get(reverse(ADD) + f"?character={luna.pk}")
    assert form.status_code == 200 and form.context["adminform"].form.initial["character"] == luna.pk

    refused = _add(admin_client, luna, SVG, name="face.svg")
    assert refused.status_code == 200
    assert "not a PNG, JPEG or WebP" in str(refused.context["adminform"].form.errors["upload"])
    wardrobe = _add(admin_client, luna, picture(), asset_key="dress", category="wardrobe")
    assert "no active identity asset" in str(wardrobe.context["adminform"].form.non_field_errors())
    assert not VisualAsset.objects.exists()

    added = _add(admin_client, luna, picture("JPEG", size=(300, 200)), label="Luna, front")

    assert added.status_code == 302, added.context["adminform"].form.errors if added.context else added
    asset = VisualAsset.objects.get()
    assert (asset.app_id, asset.character_id, asset.status, asset.label) == (
        owner.api_key.app.id,
        luna.id,
        "active",
        "Luna, front",
    )
    assert (asset.content_type, asset.width, asset.height) == ("image/jpeg", 300, 200) and asset.thumbnail


def test_promote_and_retire_are_admin_actions(admin_client, owner):
    luna = character_publish(owner.api_key.app, slug="luna").character
    _add(admin_client, luna, picture())
    _add(admin_client, luna, picture(), asset_key="dress", category="wardrobe")
    face, dress = VisualAsset.objects.get(asset_key="face"), VisualAsset.objects.get(asset_key="dress")
    changelist = reverse("admin:assets_visualasset_changelist")

    admin_client.post(changelist, {"action": "promote", "_selected_action": [dress.pk]}, follow=True)
    admin_client.post(changelist, {"action": "retire", "_selected_action": [face.pk]}, follow=True)

    dress.refresh_from_db(), face.refresh_from_db()
    assert (dress.status, dress.promotion) == ("active", "approved")
    assert face.status == "retired"
    page = admin_client.get(changelist).content.decode()
    assert page.count('class="visual-asset-thumbnail"') == 2


def test_the_character_page_shows_thumbnails_and_the_gates(admin_client, client, owner):
    luna = character_publish(
        owner.api_key.app,
        slug="luna",
        profile={"identity_anchors": {"hair": "silver"}},
        behavioral_thresholds={"image_proactivity": 0.5, "selfie_comfort": 0.5, "daily_image_cap": 2},
    ).character
    url = reverse("admin:characters_character_change", args=[quote(luna.pk)])
    page = admin_client.get(url).content.decode()
    assert '<p class="visual-readiness">not ready</p>' in page
    assert "<strong>✗</strong> identity_asset: Upload an identity visual asset." in page
    assert "<strong>✓</strong> identity_anchors: passed" in page and "Upload a visual asset" in page

    _add(admin_client, luna, picture("PNG", size=(128, 128)), label="Luna, front")
    page = admin_client.get(url).content.decode()

    assert "<strong>✓</strong> identity_asset: passed" in page and '<p class="visual-readiness">ready</p>' in page
    thumbnail = re.search(r'<img src="([^"]+)" alt="Luna, front" class="visual-asset-thumbnail"', page)
    assert thumbnail, page
    served = client.get(thumbnail.group(1).replace("&amp;", "&"))  # the signed URL needs no login
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
    assert b"".join(served.streaming_content)[8:12] == b"WEBP"


def test_the_character_page_still_publishes_drafts(admin_client, owner):
    luna = character_publish(owner.api_key.app, slug="luna").character
    response = admin_client.post(
        reverse("admin:characters_character_changelist"),
        {"action": "publish_draft", "_selected_action": [luna.pk]},
        follow=True,
    )
    assert response.status_code == 200
