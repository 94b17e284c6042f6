from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The package above every surface: it may know the whole site, so ``manage.py serve`` lives here.

    A surface (``apps.api.<surface>``) knows only itself and ``apps.api.shared``; ``serve`` serves the site's
    ASGI application (``config.asgi``), which mounts them all.
    """

    name = "apps.api"
    label = "api"
    verbose_name = "API surfaces"
