"""Proactive messages on the native surface: the per-session controls and the test send."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.proactive_serializers import ProactiveControlsInput, ProactiveControlsOutput, ProactiveTestOutput
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, enveloped
from apps.conversations import selectors, services
from apps.core import clock


def _controls_actions(session_id: str) -> list[dict[str, str]]:
    return [
        action(
            f'PATCH /v1/sessions/{session_id}/proactive-controls {{"daily_initiate_cap": 2}}',
            "Override a control for this session (null restores the character's value)",
        ),
        action(f"POST /v1/sessions/{session_id}/proactive-test", "Make the character write first right now"),
    ]


class ProactiveControlsApi(APIView):
    @extend_schema(
        operation_id="proactive_controls_get",
        responses={200: enveloped("ProactiveControlsEnvelope", ProactiveControlsOutput), **AUTH_ERRORS},
        description="The session's effective proactive controls and where each value comes from.",
    )
    def get(self, request, session_id: str):
        session = selectors.session_get(app=request.user, session_id=session_id)
        view = selectors.session_proactive_view(session=session, now=clock.now())
        return envelope(presenters.proactive_data(view), _controls_actions(session.id))

    @extend_schema(
        operation_id="proactive_controls_update",
        request=ProactiveControlsInput,
        responses={
            200: enveloped("ProactiveControlsUpdatedEnvelope", ProactiveControlsOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description=(
            "Switch proactive messages on or off for this session, override any of the character's "
            "behavioral_thresholds, and set the end-user's time zone and quiet hours. Out-of-range values are "
            "422 naming the field, and then nothing is changed."
        ),
    )
    def patch(self, request, session_id: str):
        session = services.session_proactive_update(app=request.user, session_id=session_id, changes=request.data)
        session = selectors.session_get(app=request.user, session_id=session.id)
        view = selectors.session_proactive_view(session=session, now=clock.now())
        return envelope(presenters.proactive_data(view), _controls_actions(session.id))


class ProactiveTestApi(APIView):
    @extend_schema(
        operation_id="proactive_test",
        request=None,
        responses={202: enveloped("ProactiveTestEnvelope", ProactiveTestOutput), 413: BODY_ERRORS[413], **AUTH_ERRORS},
        description=(
            "Make the character send one cold-initiate message now, bypassing the switch, idle times, gap, cap and "
            "quiet hours. The message arrives as message.created with payload.proactive within seconds."
        ),
    )
    def post(self, request, session_id: str):
        result = services.proactive_test_send(app=request.user, session_id=session_id)
        body = {"accepted": True, "run_ref": result.run_ref, "cursor": result.cursor, "kind": result.kind}
        return envelope(
            body,
            [
                action(f"GET /v1/sessions/{session_id}/events?since={result.cursor}", "Poll for the message"),
                action(f"GET /v1/sessions/{session_id}/events/stream?since={result.cursor}", "Or stream it (SSE)"),
            ],
            status=202,
        )
