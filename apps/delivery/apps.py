from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "apps.delivery"
    label = "delivery"

    def ready(self) -> None:
        # Celery's autodiscovery imports only ``apps.delivery.tasks``; the Telegram tasks live in their package.
        from apps.delivery.telegram import tasks  # noqa: F401
