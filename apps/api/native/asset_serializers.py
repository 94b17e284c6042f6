"""Request and response shapes of the visual-asset and visual-readiness routes of the native surface."""

from rest_framework import serializers

from apps.assets.services import ASSET_KEY_PATTERN
from apps.assets.types import VisualAsset
from apps.core.fields import StrictCharField

CATEGORIES = VisualAsset.Category.values
STATUSES = VisualAsset.Status.values
_KEY_HELP = "Your name for the asset, unique per character: 1-128 letters, digits, '_', '.', ':' or '-'."


class _AssetFields(serializers.Serializer):
    asset_key = serializers.RegexField(ASSET_KEY_PATTERN, max_length=128, help_text=_KEY_HELP)
    category = serializers.ChoiceField(
        choices=CATEGORIES,
        help_text="identity is active at once (and retires the previous identity); the others arrive as "
        "candidates to promote, and need an active identity first.",
    )
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    visual_summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    visual_description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    provenance = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="Where the picture comes from."
    )
    license = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VisualAssetUploadInput(_AssetFields):
    file = serializers.FileField(
        help_text="A PNG, JPEG or WebP image (judged by decoding it), at most ASSET_MAX_BYTES (10 MB by default) "
        "and ASSET_MAX_PIXELS (4096x4096 by default). EXIF and other metadata are stripped."
    )


class VisualAssetRegisterUrlInput(_AssetFields):
    url = StrictCharField(
        max_length=2048,
        help_text="An https:// URL of the image, fetched once (a copy is stored). Private and internal addresses "
        "are refused; redirects are not followed.",
    )


class VisualAssetListQuery(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORIES, required=False)
    status = serializers.ChoiceField(choices=STATUSES, required=False)


class VisualAssetOutput(serializers.Serializer):
    asset_id = serializers.CharField()
    character = serializers.CharField(help_text="The character's slug.")
    asset_key = serializers.CharField()
    category = serializers.ChoiceField(choices=CATEGORIES)
    status = serializers.ChoiceField(choices=STATUSES)
    promotion = serializers.ChoiceField(choices=VisualAsset.Promotion.values)
    label = serializers.CharField()
    visual_summary = serializers.CharField()
    visual_description = serializers.CharField()
    content_type = serializers.CharField(help_text="image/png, image/jpeg or image/webp, from decoding the file.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    byte_size = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Of the stored file (metadata stripped), not of the upload.")
    file_url = serializers.CharField(help_text="A signed URL of the file; no API key needed, until url_expires_at.")
    thumbnail_url = serializers.CharField(help_text="A signed URL of the WebP thumbnail.")
    url_expires_at = serializers.DateTimeField()
    source_url = serializers.CharField(help_text="Where a registered asset was fetched from; empty for uploads.")
    provenance = serializers.CharField()
    license = serializers.CharField()
    retired_asset_id = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Upload and promote answers: the identity asset this one replaced (now retired), if any.",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VisualAssetListOutput(serializers.Serializer):
    character = serializers.CharField()
    visual_assets = VisualAssetOutput(many=True)


class VisualGateOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["passed", "missing"])
    missing = serializers.CharField(allow_null=True, help_text="What to do; null when the gate holds.")


class VisualGatesOutput(serializers.Serializer):
    identity_asset = VisualGateOutput(help_text="An active identity visual asset.")
    identity_anchors = VisualGateOutput(help_text="profile.identity_anchors: a dict of visual keys (hair, eyes...).")
    image_thresholds = VisualGateOutput(
        help_text="behavioral_thresholds image_proactivity, selfie_comfort and daily_image_cap above zero."
    )


class VisualReadinessOutput(serializers.Serializer):
    character = serializers.CharField()
    ready = serializers.BooleanField(help_text="True only when every gate holds: then the character may send selfies.")
    gates = VisualGatesOutput()
