from django.urls import path

from apps.api.hooks import telegram

urlpatterns = [
    path("telegram/<str:channel_id>", telegram.telegram_webhook, name="telegram-webhook"),
]
