"""``GET models?type=llm|sd``: the catalog's chat models or image models, as the seed lists them."""

from django.conf import settings
from rest_framework.response import Response

from apps.api.shared.validation import validated
from apps.api.studio import presenters
from apps.api.studio.serializers import ModelQuery
from apps.api.studio.views.base import StudioApiView
from apps.llm import selectors as llm_selectors


class ModelListApi(StudioApiView):
    def get(self, request):
        query = validated(ModelQuery, request.query_params)
        if query["type"] == "llm":
            context = settings.LLM_CONTEXT_TOKENS
            return Response(
                [presenters.llm_model(rate, max_context=context) for rate in llm_selectors.rate_card_list()]
            )
        return Response([presenters.sd_model(rate) for rate in llm_selectors.image_rate_card_list()])
