"""Request and response shapes of the native surface's image endpoints (image probes), and the function that
turns a generated image into its probe answer."""

from rest_framework import serializers

from apps.api.shared.validation import StrictCharField
from apps.assets import selectors as assets_selectors
from apps.assets.types import GeneratedImage
from apps.conversations.services import PROBE_TYPES


class ImageProbeInput(serializers.Serializer):
    probe_type = serializers.ChoiceField(choices=list(PROBE_TYPES), help_text="What to draw.")
    session_id = StrictCharField(
        max_length=40, help_text="An open session of this app on the character: the image.ready event lands there."
    )


class ConsistencyReportOutput(serializers.Serializer):
    identity_asset_used = serializers.CharField(allow_null=True, help_text="The identity asset sent as reference.")
    size = serializers.CharField(help_text="WIDTHxHEIGHT drawn (asked for, while pending).")
    seed = serializers.IntegerField(allow_null=True)
    backend = serializers.CharField()
    model = serializers.CharField()


class ImageProbeOutput(serializers.Serializer):
    probe_id = serializers.CharField()
    probe_type = serializers.CharField()
    session_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "ready", "failed"])
    url = serializers.CharField(allow_null=True, help_text="Signed and expiring; null until ready.")
    thumbnail_url = serializers.CharField(allow_null=True)
    url_expires_at = serializers.CharField(allow_null=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    prompt_summary = serializers.CharField()
    assets_used = serializers.ListField(child=serializers.CharField(), help_text="Ids of the visual assets sent.")
    report = ConsistencyReportOutput()
    error = serializers.DictField(allow_null=True, help_text="{code, message} when the probe failed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def probe_data(image: GeneratedImage) -> dict:
    ready = image.status == GeneratedImage.Status.READY
    links = assets_selectors.image_links(image_id=image.id) if ready else {}
    return {
        "probe_id": image.id,
        "probe_type": image.probe_type,
        "session_id": image.session_id,
        "status": image.status,
        "url": links.get("url"),
        "thumbnail_url": links.get("thumbnail_url"),
        "url_expires_at": links.get("url_expires_at"),
        "width": image.width,
        "height": image.height,
        "prompt_summary": image.prompt_summary,
        "assets_used": list(image.assets_used),
        "report": {
            "identity_asset_used": image.assets_used[0] if image.assets_used else None,
            "size": f"{image.width}x{image.height}",
            "seed": image.seed,
            "backend": image.backend,
            "model": image.model,
        },
        "error": {"code": image.error_code, "message": image.error_message} if image.error_code else None,
        "created_at": image.created_at,
        "finished_at": image.finished_at,
    }
