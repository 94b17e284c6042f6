from django.urls import path, re_path

from apps.api.openai import errors, views

urlpatterns = [
    path("openapi.json", views.openapi_json, name="openai-openapi"),
    path("models", views.ModelListApi.as_view(), name="openai-models"),
    path("models/<path:model>", views.ModelDetailApi.as_view(), name="openai-model"),
    path("chat/completions", views.ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    path("images/generations", views.ImageGenerationsApi.as_view(), name="openai-image-generations"),
    # Last: unknown URLs under /openai/v1 answer in OpenAI's error shape.
    re_path(r"^.*$", errors.not_found_view, name="openai-not-found"),
]
