"""A character's visual assets (upload, register by URL, list, get, promote, retire), its visual readiness, and
the signed file URLs that serve stored pictures."""

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.asset_serializers import (
    VisualAssetListOutput,
    VisualAssetListQuery,
    VisualAssetOutput,
    VisualAssetRegisterUrlInput,
    VisualAssetUploadInput,
    VisualReadinessOutput,
)
from apps.api.native.envelope import action, envelope
from apps.api.native.errors import json_error
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.shared.errors import error_body
from apps.api.shared.validation import validated
from apps.assets import selectors, services
from apps.characters import selectors as character_selectors
from apps.core.errors import ApplicationError

_ASSET_ERRORS = {409: ErrorSerializer, **BODY_ERRORS, **AUTH_ERRORS}


def _asset_actions(slug: str, asset) -> list[dict[str, str]]:
    base = f"/v1/characters/{slug}/visual-assets/{asset.id}"
    if asset.status == "candidate":
        return [action(f"POST {base}/promote", "Promote the candidate so images may use it")]
    return [action(f"GET /v1/characters/{slug}/visual-readiness", "See whether the character may send selfies")]


def _written(slug: str, written, *, status: int):
    data = presenters.visual_asset_data(written.asset, retired=written.retired, with_retired=True)
    return envelope(data, _asset_actions(slug, written.asset), status=status)


class VisualAssetCollectionApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="visual_asset_upload",
        request={"multipart/form-data": VisualAssetUploadInput},
        responses={201: enveloped("VisualAssetEnvelope", VisualAssetOutput), 415: ErrorSerializer, **_ASSET_ERRORS},
        description=(
            "Upload a picture of the character (multipart/form-data). The file is judged by decoding it: only "
            "PNG, JPEG and WebP within the byte and pixel limits pass (else 422 image_rejected; a body over the "
            "upload limit is 413). EXIF and other metadata are stripped and a thumbnail is made. An identity "
            "asset is active at once and retires the previous identity (`retired_asset_id`); other categories "
            "are candidates to promote, and need an active identity first (409 identity_required). A used "
            "asset_key is 409."
        ),
    )
    def post(self, request, slug: str):
        # The character first: another app's slug is 404 whatever the body is.
        character = character_selectors.character_get(app=request.user, slug=slug)
        data = validated(VisualAssetUploadInput, request.data)
        upload = data.pop("file")
        written = services.visual_asset_upload(app=request.user, character=character, file=upload, **data)
        return _written(slug, written, status=201)

    @extend_schema(
        operation_id="visual_asset_list",
        parameters=[VisualAssetListQuery],
        responses={200: enveloped("VisualAssetListEnvelope", VisualAssetListOutput), **BODY_ERRORS, **AUTH_ERRORS},
        description="The character's visual assets, identity first; `category` and `status` narrow the list.",
    )
    def get(self, request, slug: str):
        query = validated(VisualAssetListQuery, request.query_params)
        character = character_selectors.character_get(app=request.user, slug=slug)
        assets = selectors.visual_asset_list(app=request.user, character=character, **query).select_related("character")
        data = {"character": slug, "visual_assets": [presenters.visual_asset_data(asset) for asset in assets]}
        return envelope(data, [action(f"POST /v1/characters/{slug}/visual-assets", "Upload a visual asset")])


class VisualAssetRegisterUrlApi(APIView):
    parser_classes = [JSONParser]
    example_bodies = {
        "POST": {
            "url": "https://images.example.com/luna/face.png",
            "asset_key": "luna-face",
            "category": "identity",
            "label": "Luna, front",
            "provenance": "commissioned from the studio's artist",
            "license": "CC-BY-4.0",
        }
    }

    @extend_schema(
        operation_id="visual_asset_register_url",
        request=VisualAssetRegisterUrlInput,
        responses={201: enveloped("VisualAssetRegisteredEnvelope", VisualAssetOutput), **_ASSET_ERRORS},
        description=(
            "Fetch an https image once and store a copy as a visual asset, with the same checks and rules as an "
            "upload. The host must resolve to public addresses (422 asset_url_refused otherwise, also for a "
            "redirect or an answer other than 200); the URL is kept as `source_url`."
        ),
    )
    def post(self, request, slug: str):
        character = character_selectors.character_get(app=request.user, slug=slug)
        data = validated(VisualAssetRegisterUrlInput, request.data)
        written = services.visual_asset_register_url(app=request.user, character=character, **data)
        return _written(slug, written, status=201)


class VisualAssetDetailApi(APIView):
    @extend_schema(
        operation_id="visual_asset_get",
        responses={200: enveloped("VisualAssetDetailEnvelope", VisualAssetOutput), **AUTH_ERRORS},
    )
    def get(self, request, slug: str, asset_id: str):
        character = character_selectors.character_get(app=request.user, slug=slug)
        asset = selectors.visual_asset_get(app=request.user, character=character, asset_id=asset_id)
        return envelope(presenters.visual_asset_data(asset), _asset_actions(slug, asset))


class VisualAssetPromoteApi(APIView):
    @extend_schema(
        operation_id="visual_asset_promote",
        request=None,
        responses={200: enveloped("VisualAssetPromotedEnvelope", VisualAssetOutput), **AUTH_ERRORS},
        description=(
            "Make the asset active: a candidate becomes `approved`; a retired identity becomes the active "
            "identity again and retires the current one (`retired_asset_id`). Promoting an active asset changes "
            "nothing."
        ),
    )
    def post(self, request, slug: str, asset_id: str):
        written = services.visual_asset_promote(app=request.user, character_slug=slug, asset_id=asset_id)
        return _written(slug, written, status=200)


class VisualAssetRetireApi(APIView):
    @extend_schema(
        operation_id="visual_asset_retire",
        request=None,
        responses={200: enveloped("VisualAssetRetiredEnvelope", VisualAssetOutput), **AUTH_ERRORS},
        description=(
            "Take the asset out of use. Retiring the active identity is allowed; the character then fails "
            "the identity_asset gate of GET /v1/characters/{slug}/visual-readiness until another identity is "
            "active."
        ),
    )
    def post(self, request, slug: str, asset_id: str):
        asset = services.visual_asset_retire(app=request.user, character_slug=slug, asset_id=asset_id)
        return envelope(presenters.visual_asset_data(asset), _asset_actions(slug, asset))


class VisualReadinessApi(APIView):
    @extend_schema(
        operation_id="visual_readiness",
        responses={200: enveloped("VisualReadinessEnvelope", VisualReadinessOutput), **AUTH_ERRORS},
        description=(
            "Whether the character may send selfies: `ready` only when all three gates hold (an active identity "
            "asset; profile.identity_anchors as a dict of visual keys; image_proactivity, selfie_comfort and "
            "daily_image_cap above zero), each with what is missing."
        ),
    )
    def get(self, request, slug: str):
        character = character_selectors.character_get(app=request.user, slug=slug)
        readiness = selectors.visual_readiness(character=character)
        return envelope(
            presenters.visual_readiness_data(character, readiness),
            [action(f"POST /v1/characters/{slug}/visual-assets", "Upload the identity asset")]
            if not readiness.ready
            else [],
        )


def signed_file(request: HttpRequest, token: str) -> HttpResponse:
    """``GET /v1/files/{token}``: a stored file, to whoever holds a URL minted by
    ``apps.assets.selectors.file_url_signed`` (the token is the permission; no API key). 403 for a forged,
    altered or expired token, 404 when the file is gone; errors in the native shape."""
    if request.method not in ("GET", "HEAD"):
        body = error_body("method_not_allowed", f"Method {request.method} is not allowed here.", "Use GET.")
        return JsonResponse(body, status=405, headers={"Allow": "GET, HEAD"})
    try:
        found = selectors.signed_file_read(token=token)
    except ApplicationError as error:
        return json_error(error)
    response = FileResponse(default_storage.open(found.name, "rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
