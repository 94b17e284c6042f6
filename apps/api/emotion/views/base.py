"""What every emotion view shares: bearer-key auth (the same keys as /v1), the per-key rate, molroo's errors.

Validating bodies and queries is shared with every surface: ``apps.api.shared.validation``.
"""

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.api.emotion.errors import emotion_exception_handler
from apps.api.emotion.throttling import ApiKeyMinuteThrottle
from apps.api.shared.authentication import ApiKeyAuthentication, HasApp


class EmotionApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApp]
    throttle_classes = [ApiKeyMinuteThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return emotion_exception_handler
