"""``POST /npc/api/v1/sdk/validate-llm-key``: does the provider take the key in ``X-LLM-API-Key``?

One minimal call (a one-token reply) on that key to ``LLM_BYOK_BASE_URL``, with the body's ``model``, else
``X-LLM-Model``, else ``LLM_BYOK_DEFAULT_MODEL``. Answers 200 ``{"valid": true, "model"}`` when the provider
answers, 200 ``{"valid": false, "model", "error"}`` when it refuses (a bad or revoked key, a model the key may
not use; the reason is the provider's, with the key cut out), 400 without the header, and 503
(``llm_unavailable``) when the provider cannot be reached or is down: then nothing is known about the key.
Nothing is written: the check costs the app no credits and leaves no usage row.
"""

from rest_framework.response import Response

from apps.api.npc import byok
from apps.api.npc.serializers import ValidateLlmKeyInput
from apps.api.npc.views import NpcApiView
from apps.api.shared.validation import json_object, validated
from apps.core.errors import ValidationFailed
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ModelOverride


class ValidateLlmKeyApi(NpcApiView):
    def post(self, request):
        data = validated(ValidateLlmKeyInput, json_object(request.data))
        sent = byok.llm_headers(request)
        key = sent.get(byok.API_KEY)
        if not key:
            raise ValidationFailed({byok.API_KEY: ["Send the provider key to check in this header."]})
        override = ModelOverride(api_key=key, model=data.get("model") or sent.get(byok.MODEL, ""))
        check = llm_services.llm_key_check(spec=llm_selectors.model_spec_byok(override=override))
        if check.valid:
            return Response({"valid": True, "model": check.model})
        return Response({"valid": False, "model": check.model, "error": check.error})
