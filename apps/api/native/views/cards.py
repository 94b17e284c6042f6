"""Character Cards: import a card file as a character (``POST /v1/characters/import``) and export a character
as one (``GET /v1/characters/{slug}/export``)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.card_serializers import CardExportQuery, CardImportOutput, CardImportQuery, CardImportUploadInput
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.native.views.characters import _via
from apps.api.shared.validation import validated
from apps.assets import services
from apps.assets.services.cards import card_limits
from apps.core.errors import ValidationFailed


class CardFileParser(BaseParser):
    """Any other body is the card file itself (image/png, application/json, application/zip...): its bytes, read
    from the stream up to one byte over CARD_MAX_BYTES (the card reader refuses more), never parsed as JSON."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"file": stream.read(card_limits().max_bytes + 1) if stream is not None else b""}


class CharacterCardImportApi(APIView):
    parser_classes = [MultiPartParser, CardFileParser]

    @extend_schema(
        operation_id="character_card_import",
        parameters=[CardImportQuery],
        request={
            "multipart/form-data": CardImportUploadInput,
            "image/png": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.OBJECT,
            "application/zip": OpenApiTypes.BINARY,
        },
        responses={
            201: enveloped("CardImportEnvelope", CardImportOutput),
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description=(
            "Create a character from a Character Card: a PNG (its 'ccv3' chunk, else its 'chara' chunk), a JSON "
            "card (V1, V2 or V3) or a CHARX, sent as multipart `file` or as the raw body. The card's fields become "
            "the character's content (see docs/integrators/cards.md), its character_book the character's own "
            "lorebook, its picture the identity asset, all in one transaction. A bad card is 422 with a code per "
            "reason (card_invalid_base64, card_invalid_json, card_no_chunk, card_too_large, card_image_bomb, "
            "card_zip_bomb, card_path_traversal, card_unsupported, card_invalid_png, card_invalid_zip, "
            "card_fields_invalid, image_rejected) and writes nothing. An explicit `slug` in use is 409 "
            "character_exists unless `replace=true`."
        ),
    )
    def post(self, request):
        query = validated(CardImportQuery, request.query_params)
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or upload == b"":
            raise ValidationFailed({"file": ["Send the card as multipart 'file' or as the request body."]})
        imported = services.character_card_import(
            app=request.user,
            data=upload,
            slug=query.get("slug"),
            replace=query["replace"],
            published_via=_via(request),
        )
        character = imported.character
        data = {
            **presenters.character_data(character, created=imported.created),
            "card_format": imported.file_format,
            "card_spec": imported.spec,
            "identity_asset_id": imported.identity.id if imported.identity is not None else None,
        }
        slug = character.slug
        actions = [
            action(f"GET /v1/characters/{slug}", "See the imported content"),
            action(f"GET /v1/characters/{slug}/export?format=png", "Export it as a card again"),
        ]
        return envelope(data, actions, status=201)


class CharacterCardExportApi(APIView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is a file whatever the Accept header says; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="character_card_export",
        parameters=[CardExportQuery],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="A PNG card."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="A JSON card."),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="A CHARX."),
            **{
                (status, "application/json"): serializer
                for status, serializer in {**BODY_ERRORS, **AUTH_ERRORS}.items()
            },
        },
        description=(
            "The character's current version as a Character Card file (Content-Disposition names it): a PNG with "
            "'chara' (V2) and 'ccv3' (V3) chunks on its identity picture (the built-in renderer's stand-in when it "
            "has none), the V3 JSON (V2 with spec=v2), or a CHARX. Its own lorebook is the character_book; our "
            "fields that no card field carries travel under extensions.dramatis, so importing the file gives the "
            "same card back."
        ),
    )
    def get(self, request, slug: str):
        query = validated(CardExportQuery, request.query_params)
        exported = services.character_card_export(
            app=request.user, slug=slug, file_format=query["format"], spec=query["spec"]
        )
        response = HttpResponse(exported.data, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
