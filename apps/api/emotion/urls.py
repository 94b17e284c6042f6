from django.urls import path, re_path

from apps.api.emotion import errors
from apps.api.emotion.views import meta, personas, proactive, turns, webhooks

urlpatterns = [
    path("openapi.json", meta.openapi_json, name="emotion-openapi"),
    path("persona", personas.PersonaCollectionApi.as_view(), name="emotion-personas"),
    path("persona/<str:session_id>", personas.PersonaDetailApi.as_view(), name="emotion-persona-detail"),
    path(
        "persona/<str:session_id>/stream-token",
        personas.PersonaStreamTokenApi.as_view(),
        name="emotion-persona-stream-token",
    ),
    path("presets", personas.PresetListApi.as_view(), name="emotion-presets"),
    path("turn", turns.TurnApi.as_view(), name="emotion-turn"),
    path("turn/appraisal", turns.AppraisalTurnApi.as_view(), name="emotion-turn-appraisal"),
    path("state/<str:session_id>", turns.StateApi.as_view(), name="emotion-state"),
    path("proactive/<str:session_id>", proactive.ProactiveActionsApi.as_view(), name="emotion-proactive"),
    path(
        "proactive/<str:session_id>/preferences",
        proactive.ProactivePreferencesApi.as_view(),
        name="emotion-proactive-preferences",
    ),
    path("webhook/<str:session_id>", webhooks.WebhookCollectionApi.as_view(), name="emotion-webhooks"),
    # Last: unknown URLs under /emotion/v1 answer in molroo's error shape.
    re_path(r"^.*$", errors.not_found_view, name="emotion-not-found"),
]
