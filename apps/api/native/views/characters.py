from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import (
    AUTH_ERRORS,
    BODY_ERRORS,
    CharacterInput,
    CharacterListOutput,
    CharacterOutput,
    CharacterPatchInput,
    CharacterValidateOutput,
    CharacterVersionListOutput,
    ReadinessSerializer,
    enveloped,
)
from apps.characters import selectors, services


class MergePatchParser(JSONParser):
    """RFC 7396's media type for a merge patch; the body is plain JSON (application/json is accepted too)."""

    media_type = "application/merge-patch+json"


def _via(request) -> str:
    """How a version published here is recorded: through the API, by which key (its prefix; the key is loaded
    by authentication, so this costs no query). The browsable API's staff session has no key: plain "api"."""
    return f"api:{request.auth.prefix}" if request.auth is not None else "api"


def _published(result: services.PublishResult, *, status: int) -> Response:
    """The answer of a publish or a patch: the character, whether it made a version, what the new one dropped."""
    data = presenters.character_data(
        result.character, created=result.created_version, dropped_fields=result.dropped_fields
    )
    slug = result.character.slug
    return envelope(
        data,
        [
            action(
                f'POST /v1/sessions {{"character": "{slug}", "external_user_ref": "<your-user-id>"}}',
                "Start a chat session for one of your end-users",
            ),
            action(f"GET /v1/characters/{slug}/readiness", "See what would make the character richer"),
        ],
        status=status,
    )


class CharacterCollectionApi(APIView):
    example_bodies = {
        "POST": {
            "slug": "luna",
            "display_name": "Luna",
            "greeting": "hey, you found me!",
            "voice_samples": ["honestly? the stars were extra loud tonight", "tea first, questions later"],
            "profile": {"visible_interests": ["astronomy", "night walks", "oolong tea"]},
        }
    }

    @extend_schema(
        operation_id="character_publish",
        request=CharacterInput,
        responses={
            200: enveloped("CharacterUnchangedEnvelope", CharacterOutput),
            201: enveloped("CharacterEnvelope", CharacterOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description=(
            "Create a character or publish its next version. The body replaces the content whole: fields the "
            "previous version had and the body lacks are gone from the new version and named in "
            "`dropped_fields` (use PATCH /v1/characters/{slug} to change only some fields). Identical content "
            "keeps the current version. Slugs are unique per app; another app's slug is free for yours."
        ),
    )
    def post(self, request):
        result = services.character_publish(app=request.user, data=request.data, published_via=_via(request))
        return _published(result, status=201 if result.created_version else 200)

    @extend_schema(
        operation_id="character_list",
        responses={200: enveloped("CharacterListEnvelope", CharacterListOutput), **AUTH_ERRORS},
    )
    def get(self, request):
        characters = [presenters.character_data(character) for character in selectors.character_list(app=request.user)]
        return envelope({"characters": characters}, [action("POST /v1/characters", "Create or update a character")])


class CharacterValidateApi(APIView):
    example_bodies = CharacterCollectionApi.example_bodies

    @extend_schema(
        operation_id="character_validate",
        request=CharacterInput,
        responses={
            200: enveloped("CharacterValidateEnvelope", CharacterValidateOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Dry run: the same validation as POST /v1/characters; nothing is written.",
    )
    def post(self, request):
        content, readiness = services.character_validate(data=request.data)
        data = {"valid": True, "normalized": content, "authoring_readiness": readiness}
        return envelope(data, [action("POST /v1/characters", "Publish this content")])


class CharacterDetailApi(APIView):
    parser_classes = [JSONParser, MergePatchParser]

    @extend_schema(
        operation_id="character_get",
        responses={200: enveloped("CharacterDetailEnvelope", CharacterOutput), **AUTH_ERRORS},
    )
    def get(self, request, slug: str):
        character = selectors.character_get(app=request.user, slug=slug)
        return envelope(
            presenters.character_data(character, with_content=True),
            [action(f"GET /v1/characters/{slug}/versions", "See the version history")],
        )

    @extend_schema(
        operation_id="character_patch",
        request={"application/json": CharacterPatchInput, "application/merge-patch+json": CharacterPatchInput},
        responses={200: enveloped("CharacterPatchEnvelope", CharacterOutput), **BODY_ERRORS, **AUTH_ERRORS},
        description=(
            "Change some fields and publish the next version: the body is merged into the current version's "
            "content as a JSON Merge Patch (RFC 7396): objects merge key by key, `null` removes a field, any "
            "other value (lists included) replaces it. The result is validated like POST /v1/characters; "
            "`slug` may only be sent unchanged. A patch that changes nothing keeps the current version "
            "(`created: false`)."
        ),
    )
    def patch(self, request, slug: str):
        result = services.character_patch(
            app=request.user, slug=slug, changes=request.data, published_via=_via(request)
        )
        return _published(result, status=200)


class CharacterVersionListApi(APIView):
    @extend_schema(
        operation_id="character_version_list",
        responses={200: enveloped("CharacterVersionListEnvelope", CharacterVersionListOutput), **AUTH_ERRORS},
    )
    def get(self, request, slug: str):
        character = selectors.character_get(app=request.user, slug=slug)
        versions = [
            presenters.version_data(version, character.current_version_id)
            for version in selectors.character_version_list(character=character)
        ]
        return envelope(
            {"slug": slug, "versions": versions}, [action(f"GET /v1/characters/{slug}", "See the current version")]
        )


class CharacterReadinessApi(APIView):
    @extend_schema(
        operation_id="character_readiness",
        responses={200: enveloped("ReadinessEnvelope", ReadinessSerializer), **AUTH_ERRORS},
    )
    def get(self, request, slug: str):
        character = selectors.character_get(app=request.user, slug=slug)
        return envelope(
            selectors.character_readiness(character=character),
            [action("POST /v1/characters", "Add the missing fields and re-publish")],
        )
