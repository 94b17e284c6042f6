"""``/persona`` (create, list, get, delete) and ``/presets``."""

from urllib.parse import urlencode

from rest_framework.response import Response

from apps.api.emotion import presenters
from apps.api.emotion.serializers import PersonaListQuery
from apps.api.emotion.views.base import EmotionApiView
from apps.api.shared.pagination import page_cursor_decode, page_cursor_encode
from apps.api.shared.validation import json_object, validated
from apps.personas import selectors, services


class PersonaCollectionApi(EmotionApiView):
    def post(self, request):
        session = services.persona_session_create(app=request.user, spec=json_object(request.data))
        return Response(presenters.session_created(session), status=201)

    def get(self, request):
        query = validated(PersonaListQuery, request.query_params)
        after = page_cursor_decode(query["cursor"]) if "cursor" in query else None
        page, more = selectors.persona_session_page(app=request.user, after=after, limit=query["limit"])
        cursor = page_cursor_encode(page[-1].created_at, page[-1].id) if more else None
        return Response({"sessions": [presenters.session_summary(s) for s in page], "cursor": cursor})


class PersonaDetailApi(EmotionApiView):
    def get(self, request, session_id: str):
        session = selectors.persona_session_get(app=request.user, session_id=session_id)
        return Response(presenters.session_detail(session))

    def delete(self, request, session_id: str):
        services.persona_session_delete(app=request.user, session_id=session_id)
        return Response({"deleted": True, "id": session_id})


class PersonaStreamTokenApi(EmotionApiView):
    """Not in molroo's API: browsers cannot send a header when opening a WebSocket, and keys stay out of URLs."""

    rate_limit_exempt = True  # part of opening a stream, which has connection limits of its own

    def post(self, request, session_id: str):
        issued = services.persona_session_stream_token_issue(app=request.user, session_id=session_id)
        return Response(
            {
                "token": issued.token,
                "expiresAt": issued.expires_at.isoformat().replace("+00:00", "Z"),
                "url": f"/emotion/v1/ws/{session_id}?{urlencode({'token': issued.token})}",
            },
            status=201,
        )


class PresetListApi(EmotionApiView):
    def get(self, request):
        return Response(selectors.preset_list())
