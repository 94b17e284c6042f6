from django.apps import AppConfig


class NativeApiConfig(AppConfig):
    name = "apps.api.native"
    label = "api_native"
    verbose_name = "Native API (/v1)"
