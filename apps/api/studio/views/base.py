"""What every studio view shares: bearer keys (the same keys as every surface), JSON in and out, the seed's
``{"error": ...}`` bodies. The rate limit is the project's default throttle (``REST_FRAMEWORK``), so no view
here names throttle classes of its own."""

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.api.shared.authentication import ApiKeyAuthentication, HasApp
from apps.api.studio.errors import studio_exception_handler


class StudioApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApp]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return studio_exception_handler
