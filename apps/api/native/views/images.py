"""Generated images on the native surface: image probes, and the signed links that serve image files."""

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native.envelope import action, envelope
from apps.api.native.image_serializers import ImageProbeInput, ImageProbeOutput, probe_data
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.shared.errors import error_body
from apps.api.shared.validation import validated
from apps.assets import selectors as assets_selectors
from apps.assets.errors import ImageNotFound
from apps.assets.types import GeneratedImage
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
        image = assets_selectors.image_get(app_id=request.user.pk, image_id=probe_id)
        if image.kind != GeneratedImage.Kind.PROBE or image.character.slug != slug:
            raise ImageNotFound(f"No image probe with id '{probe_id}'.")
        return envelope(probe_data(image), [])


@require_GET
def image_file(request: HttpRequest, token: str):
    """Serve a generated image (or its thumbnail) to whoever holds a signed link: the token names the image
    and expires; a forged, tampered or expired one is 404, like an id of another app."""
    named = assets_selectors.image_token_read(token=token)
    found = assets_selectors.image_file_name(image_id=named[0], variant=named[1]) if named else None
    if found is None:
        body = error_body("not_found", "No image at this link, or the link expired.", "Read the event again.")
        return JsonResponse(body, status=404)
    name, content_type = found
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
