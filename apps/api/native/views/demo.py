from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from apps.accounts import services as accounts_services
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import ErrorSerializer, SandboxKeyOutput, enveloped


class DemoSandboxKeyApi(APIView):
    """Issue a key for a fresh, isolated sandbox app (no auth needed)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="demo_sandbox_key",
        request=None,
        responses={
            201: enveloped("SandboxKeyEnvelope", SandboxKeyOutput),
            403: ErrorSerializer,
            413: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request):
        issued = accounts_services.sandbox_issue(client_address=request.META.get("REMOTE_ADDR", "unknown"))
        app = issued.api_key.app
        data = {
            "api_key": issued.raw_key,
            "app_id": app.id,
            "expires_at": issued.api_key.expires_at,
            "limits": {
                "characters": app.max_characters,
                "sessions": app.max_sessions,
                "user_messages": app.max_user_messages,
                "message_chars": app.max_message_chars,
            },
        }
        return envelope(
            data,
            [action('POST /v1/characters {"slug": "luna", "display_name": "Luna"}', "Create your first character")],
            status=201,
        )
