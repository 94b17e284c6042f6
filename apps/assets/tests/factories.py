"""Visual assets for tests, written straight to the table with their file saved through Django's storage (the
upload service has its own tests; these only need a face to draw from)."""

import hashlib
import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from apps.assets.models import VisualAsset

SELFIE_THRESHOLDS = {"image_proactivity": 0.8, "selfie_comfort": 0.9, "daily_image_cap": 3}
IDENTITY_ANCHORS = {"hair": "short silver bob", "eyes": "green", "style": "oversized denim jacket"}


def png_bytes(colour=(200, 40, 90), size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def identity_asset_create(character, *, colour=(200, 40, 90)) -> VisualAsset:
    """An active identity asset for ``character`` with a small PNG face stored through default_storage."""
    data = png_bytes(colour)
    name = default_storage.save(f"assets/test/{character.pk}-identity.png", ContentFile(data))
    return VisualAsset.objects.create(
        app_id=character.app_id,
        character=character,
        asset_key="face",
        category=VisualAsset.Category.IDENTITY,
        status=VisualAsset.Status.ACTIVE,
        promotion=VisualAsset.Promotion.APPROVED_ANCHOR,
        label="Face",
        file=name,
        content_type="image/png",
        width=64,
        height=64,
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def selfie_character_fields(**thresholds) -> dict:
    """Character content that passes the selfie gates (add an identity asset with ``identity_asset_create``)."""
    return {
        "profile": {"identity_anchors": IDENTITY_ANCHORS, "city": "Lisbon", "visible_interests": ["film cameras"]},
        "behavioral_thresholds": {**SELFIE_THRESHOLDS, **thresholds},
    }
