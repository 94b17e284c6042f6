from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core import metrics

        # Every process tidies the metrics folder as it starts: cheap (one listing), and no process is special.
        metrics.multiproc_dir_tidy()
