"""What every emotion view shares: bearer-key auth (the same keys as /v1), the per-key rate, molroo's errors."""

from django.http import QueryDict
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.accounts.authentication import ApiKeyAuthentication, HasApp
from apps.api.emotion.errors import emotion_exception_handler
from apps.api.emotion.throttling import ApiKeyMinuteThrottle
from apps.core.errors import ValidationFailed


class EmotionApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApp]
    throttle_classes = [ApiKeyMinuteThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return emotion_exception_handler


def validated(serializer_class, data) -> dict:
    if isinstance(data, QueryDict):
        data = data.dict()  # an empty ``?limit=`` is an invalid value, not a missing one
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def json_object(data) -> dict:
    """The request body, which must be a JSON object (DRF parses ``[]`` and ``"x"`` too)."""
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["Must be a JSON object."]})
    return data
