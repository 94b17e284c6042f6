from django.apps import AppConfig


class EmotionApiConfig(AppConfig):
    name = "apps.api.emotion"
    label = "api_emotion"
    verbose_name = "Emotion API (/emotion/v1, molroo-compatible)"
