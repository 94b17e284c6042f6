from django.apps import AppConfig


class StudioApiConfig(AppConfig):
    name = "apps.api.studio"
    label = "api_studio"
    verbose_name = "Studio API (/studio/api/v1, characters + images)"
