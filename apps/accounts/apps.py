from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Apps and API keys"

    def ready(self) -> None:
        from apps.accounts import checks  # noqa: F401 - registers the system checks
