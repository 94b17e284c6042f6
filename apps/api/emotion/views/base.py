"""What every emotion view shares: the API key (the same keys as /v1) as ``Authorization: Bearer`` or, as
molroo's SDK 0.7 sends it, ``X-API-Key``; and molroo's errors.

The request rate (molroo's ``RATE_LIMIT``) is every surface's one limiter, from the app's plan: DRF's default
throttle (``apps.api.shared.throttling``), rendered here as ``RATE_LIMIT``.

Validating bodies and queries is shared with every surface: ``apps.api.shared.validation``.
"""

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.api.emotion.errors import emotion_exception_handler
from apps.api.shared.authentication import ApiKeyAuthentication, HasApp, XApiKeyAuthentication


class EmotionApiView(APIView):
    authentication_classes = [ApiKeyAuthentication, XApiKeyAuthentication]
    permission_classes = [HasApp]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return emotion_exception_handler
