"""Images (``images``): the app's generated pictures, a page at a time, and a new one drawn from a prompt with
an image model of the catalog (metered per picture, like every drawing), optionally inserted into a
conversation as a message with no text."""

from rest_framework.response import Response

from apps.api.shared.validation import json_object, validated
from apps.api.studio import presenters
from apps.api.studio.serializers import ImageInput, ImagePageQuery
from apps.api.studio.views.base import StudioApiView
from apps.assets import selectors as assets_selectors
from apps.conversations import services as conversations_services


class ImageCollectionApi(StudioApiView):
    def get(self, request):
        query = validated(ImagePageQuery, request.query_params)
        current, size = query["page"], query["page_size"]
        pictures, total = assets_selectors.image_page(app_id=request.user.pk, offset=(current - 1) * size, limit=size)
        return Response(
            presenters.page([presenters.image(p) for p in pictures], total=total, current=current, size=size)
        )

    def post(self, request):
        data = validated(ImageInput, json_object(request.data))
        picture = conversations_services.image_generate(
            app=request.user,
            prompt=data["prompt"],
            model=data["sd_model_id"],
            session_id=data.get("conversation_id") or "",
        )
        return Response(presenters.image(picture), status=201)
