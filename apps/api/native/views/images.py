"""Generated images on the native surface: image probes, and the signed links that serve image files."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native.envelope import action, envelope
from apps.api.native.image_serializers import ImageProbeInput, ImageProbeOutput, probe_data
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.shared.validation import validated
from apps.assets import selectors as assets_selectors
from apps.assets.errors import ImageNotFound
from apps.assets.types import GeneratedImage
from apps.characters import selectors as characters_selectors
from apps.conversations import services as conversation_services


class ImageProbeCollectionApi(APIView):
    example_bodies = {"POST": {"probe_type": "identity_selfie", "session_id": "sess_..."}}

    @extend_schema(
        operation_id="image_probe_start",
        request=ImageProbeInput,
        responses={
            202: enveloped("ImageProbeEnvelope", ImageProbeOutput),
            402: ErrorSerializer,
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description=(
            "Draw one probe picture of the character (the daily image cap does not apply; its visual readiness "
            "and budgets do). The picture arrives as an image.ready event on the session."
        ),
    )
    def post(self, request, slug: str):
        data = validated(ImageProbeInput, request.data)
        image = conversation_services.image_probe_start(
            app=request.user, character_slug=slug, session_id=data["session_id"], probe_type=data["probe_type"]
        )
        return envelope(
            probe_data(image),
            [
                action(f"GET /v1/characters/{slug}/image-probe/{image.id}", "The probe's status and report"),
                action(f"GET /v1/sessions/{image.session_id}/events/stream", "Or wait for its image.ready event"),
            ],
            status=202,
        )


class ImageProbeDetailApi(APIView):
    @extend_schema(
        operation_id="image_probe_get",
        responses={200: enveloped("ImageProbeDetailEnvelope", ImageProbeOutput), **AUTH_ERRORS},
    )
    def get(self, request, slug: str, probe_id: str):
        characters_selectors.character_get(app=request.user, slug=slug)  # the path's character first
        image = assets_selectors.image_get(app_id=request.user.pk, image_id=probe_id)
        if image.kind != GeneratedImage.Kind.PROBE or image.character.slug != slug:
            raise ImageNotFound(f"No image probe with id '{probe_id}'.")
        return envelope(probe_data(image), [])
