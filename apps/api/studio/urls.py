from django.urls import path, re_path

from apps.api.studio import errors
from apps.api.studio.views import agents, completions, conversations, images, meta, models

urlpatterns = [
    path("openapi.json", meta.openapi_json, name="studio-openapi"),
    path("models", models.ModelListApi.as_view(), name="studio-models"),
    path("completions", completions.CompletionApi.as_view(), name="studio-completions"),
    path("conversations", conversations.ConversationCollectionApi.as_view(), name="studio-conversations"),
    path(
        "conversations/<str:conversation_id>",
        conversations.ConversationDetailApi.as_view(),
        name="studio-conversation",
    ),
    path(
        "conversations/<str:conversation_id>/messages",
        conversations.MessageCollectionApi.as_view(),
        name="studio-messages",
    ),
    path("agents", agents.AgentCollectionApi.as_view(), name="studio-agents"),
    path("agents/<str:agent_id>", agents.AgentDetailApi.as_view(), name="studio-agent"),
    path("images", images.ImageCollectionApi.as_view(), name="studio-images"),
    # Last: unknown URLs under /studio answer in the seed's error shape.
    re_path(r"^.*$", errors.not_found_view, name="studio-not-found"),
]
