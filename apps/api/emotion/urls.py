from django.urls import path, re_path

from apps.api.emotion import errors
from apps.api.emotion.views import meta, persona_api, personas, proactive, turns, webhooks, world_api

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
    # The persona API of molroo's SDK 0.7 (bodies {"result": ...}).
    path("personas", persona_api.PersonaCollectionApi.as_view(), name="emotion-sdk-personas"),
    path("personas/<str:persona_id>", persona_api.PersonaDetailApi.as_view(), name="emotion-sdk-persona"),
    path("personas/<str:persona_id>/restore", persona_api.PersonaRestoreApi.as_view(), name="emotion-sdk-restore"),
    path("personas/<str:persona_id>/perceive", persona_api.PerceiveApi.as_view(), name="emotion-sdk-perceive"),
    path("personas/<str:persona_id>/tick", persona_api.TickApi.as_view(), name="emotion-sdk-tick"),
    path("personas/<str:persona_id>/emotion", persona_api.EmotionApi.as_view(), name="emotion-sdk-emotion"),
    path("personas/<str:persona_id>/state", persona_api.StateApi.as_view(), name="emotion-sdk-state"),
    path("personas/<str:persona_id>/snapshot", persona_api.SnapshotApi.as_view(), name="emotion-sdk-snapshot"),
    path(
        "personas/<str:persona_id>/prompt-context",
        persona_api.PromptContextApi.as_view(),
        name="emotion-sdk-prompt-context",
    ),
    path(
        "personas/<str:persona_id>/memory/search",
        persona_api.MemorySearchApi.as_view(),
        name="emotion-sdk-memory-search",
    ),
    path("worlds", world_api.WorldCollectionApi.as_view(), name="emotion-sdk-worlds"),
    path("worlds/<str:world_id>", world_api.WorldDetailApi.as_view(), name="emotion-sdk-world"),
    path("worlds/<str:world_id>/personas", world_api.MemberCollectionApi.as_view(), name="emotion-sdk-members"),
    path(
        "worlds/<str:world_id>/personas/<str:member_ref>",
        world_api.MemberDetailApi.as_view(),
        name="emotion-sdk-member",
    ),
    path(
        "worlds/<str:world_id>/personas/<str:member_ref>/prompt-context",
        world_api.MemberPromptContextApi.as_view(),
        name="emotion-sdk-member-prompt-context",
    ),
    path(
        "worlds/<str:world_id>/personas/<str:member_ref>/tick",
        world_api.MemberTickApi.as_view(),
        name="emotion-sdk-member-tick",
    ),
    path("worlds/<str:world_id>/actions", world_api.ActionCollectionApi.as_view(), name="emotion-sdk-actions"),
    path(
        "worlds/<str:world_id>/actions/<str:action_ref>", world_api.ActionDetailApi.as_view(), name="emotion-sdk-action"
    ),
    path(
        "worlds/<str:world_id>/relationships",
        world_api.RelationshipCollectionApi.as_view(),
        name="emotion-sdk-relationships",
    ),
    path(
        "worlds/<str:world_id>/relationships/<str:relationship_id>",
        world_api.RelationshipDetailApi.as_view(),
        name="emotion-sdk-relationship",
    ),
    path("worlds/<str:world_id>/interact", world_api.InteractApi.as_view(), name="emotion-sdk-interact"),
    path("worlds/<str:world_id>/events", world_api.EventListApi.as_view(), name="emotion-sdk-events"),
    # Last: unknown URLs under /emotion/v1 answer in molroo's error shape.
    re_path(r"^.*$", errors.not_found_view, name="emotion-not-found"),
]
