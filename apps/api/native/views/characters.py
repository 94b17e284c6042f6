from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import (
    AUTH_ERRORS,
    BODY_ERRORS,
    CharacterInput,
    CharacterListOutput,
    CharacterOutput,
    CharacterValidateOutput,
    CharacterVersionListOutput,
    ErrorSerializer,
    ReadinessSerializer,
    enveloped,
)
from apps.characters import selectors, services
from apps.characters.readiness import readiness_evaluate


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
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Create a character or publish its next version. Identical content keeps the current version.",
    )
    def post(self, request):
        result = services.character_publish(app=request.user, data=request.data)
        data = presenters.character_data(result.character, created=result.created_version)
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
            status=201 if result.created_version else 200,
        )

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
        content = character.current_version.content if character.current_version else {}
        return envelope(
            readiness_evaluate(content), [action("POST /v1/characters", "Add the missing fields and re-publish")]
        )
