"""An app's end-users: erasing everything of one (a GDPR request)."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native import memory_serializers as shapes
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, ErrorSerializer, enveloped
from apps.api.native.views.sessions import IDEMPOTENCY_KEY_PARAMETER
from apps.api.shared.validation import idempotency_key
from apps.delivery import services as delivery_services


class ExternalUserApi(APIView):
    @extend_schema(
        operation_id="external_user_erase",
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: enveloped("ExternalUserErasedEnvelope", shapes.ExternalUserErasedOutput),
            409: ErrorSerializer,
            422: ErrorSerializer,
            **AUTH_ERRORS,
        },
        description=(
            "Erase everything your app holds about one end-user, in one transaction (a GDPR erasure request): "
            "their sessions with every event and run, what each character knows about them, their emotion "
            "state, NPC playthroughs, generated pictures, selfie counts, budgets, Telegram chats and webhook "
            "deliveries of their events. Usage rows stay for billing, anonymised. Answers the counts; a ref "
            "with nothing to erase answers zeros. Cannot be undone."
        ),
    )
    def delete(self, request, external_user_ref: str):
        erased = delivery_services.external_user_erase(
            app=request.user, external_user_ref=external_user_ref, idempotency_key=idempotency_key(request)
        )
        return envelope(
            {"external_user_ref": external_user_ref, **erased.as_dict()},
            [action("GET /v1/usage?group_by=external_user", "Usage stays, under the external_user_ref 'erased'")],
        )
