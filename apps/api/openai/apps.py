from django.apps import AppConfig


class OpenAIApiConfig(AppConfig):
    name = "apps.api.openai"
    label = "api_openai"
    verbose_name = "OpenAI-compatible API (/openai/v1)"
