"""The routes under ``/openai/v1/``: models, chat completions, image generations, and the OpenAPI document."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.openai import openapi, presenters, streams
from apps.api.openai.completions import chat_start
from apps.api.openai.errors import ModelUnavailable, model_missing_message, openai_exception_handler
from apps.api.openai.serializers import ChatCompletionInput, ImageGenerationInput
from apps.api.shared.authentication import ApiKeyAuthentication, HasApp
from apps.api.shared.sse import EventStreamRenderer, stream_slot
from apps.api.shared.validation import json_object, validated
from apps.assets import selectors as assets_selectors
from apps.assets import services as assets_services
from apps.characters import selectors as characters_selectors
from apps.characters.errors import CharacterNotFound, CharacterNotPublished
from apps.llm import selectors as llm_selectors


@require_GET
def openapi_json(request) -> JsonResponse:
    """``GET /openai/v1/openapi.json``: the surface's OpenAPI document (public, like the other surfaces')."""
    return JsonResponse(openapi.openapi_document())


class OpenAIApiView(APIView):
    """Bearer keys only (no admin session), JSON in and out, errors in OpenAI's shape. The throttles are the
    project's defaults (the plan's request limit)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApp]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return openai_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        # An error is JSON even when the client asked only for ``text/event-stream`` (a stream refused before it
        # started): OpenAI's clients read the body of any error status as JSON.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _catalog_models() -> list[dict]:
    """The chat models and image models integrators can name, each once, with its row's creation time (0 for
    those the settings provide: the configured default, ``scripted``, ``builtin``)."""
    created = {row.name: int(row.created_at.timestamp()) for row in llm_selectors.active_models()}
    created |= {row.name: int(row.created_at.timestamp()) for row in llm_selectors.active_image_models()}
    names = [rate.model for rate in llm_selectors.rate_card_list()]
    names += [rate.model for rate in llm_selectors.image_rate_card_list()]
    return [presenters.catalog_model(name, created.get(name, 0)) for name in dict.fromkeys(names)]


class ModelListApi(OpenAIApiView):
    def get(self, request):
        characters = characters_selectors.character_published_list(app=request.user)
        models = [presenters.character_model(character) for character in characters]
        return Response(presenters.model_list(models + _catalog_models()))


class ModelDetailApi(OpenAIApiView):
    def get(self, request, model: str):
        if model.startswith(presenters.CHARACTER_PREFIX):
            slug = model.removeprefix(presenters.CHARACTER_PREFIX)
            try:
                character = characters_selectors.character_published_get(app=request.user, slug=slug)
            except (CharacterNotFound, CharacterNotPublished) as error:
                raise ModelUnavailable(model_missing_message(model)) from error
            return Response(presenters.character_model(character))
        found = next((entry for entry in _catalog_models() if entry["id"] == model), None)
        if found is None:
            raise ModelUnavailable(model_missing_message(model))
        return Response(found)


class ChatCompletionsApi(OpenAIApiView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def post(self, request):
        data = validated(ChatCompletionInput, json_object(request.data))
        with stream_slot(request, wanted=bool(data.get("stream"))) as slot:
            reply = chat_start(app=request.user, data=data, absolute_url=request.build_absolute_uri)
            if data.get("stream"):
                include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
                return streams.chunk_response(request, reply, include_usage=include_usage, slot=slot)
        reply.run()
        body = presenters.chat_completion(
            id_=reply.id, created=reply.created, model=reply.model, content=reply.content, used=reply.usage
        )
        return Response(body)


class ImageGenerationsApi(OpenAIApiView):
    def post(self, request):
        data = validated(ImageGenerationInput, json_object(request.data))
        model = data.get("model") or None
        if model and model.startswith(presenters.CHARACTER_PREFIX):
            raise ModelUnavailable(f"The model `{model}` is a character, not an image model.")
        as_urls = (data.get("response_format") or "url") == "url"
        pictures = assets_services.images_generate(
            app_id=request.user.pk,
            prompt=data["prompt"],
            model=model,
            n=data.get("n") or 1,
            size=data.get("size"),
            external_user_ref=data.get("user") or "",
            store=as_urls,
        )
        urls = None
        if as_urls:
            urls = [request.build_absolute_uri(assets_selectors.file_url_signed(p.file_name).url) for p in pictures]
        return Response(presenters.images(pictures, urls=urls, prompt=data["prompt"]))
