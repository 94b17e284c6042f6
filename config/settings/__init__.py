"""Settings: ``base`` holds every setting, read from the environment; ``test`` adds what the test suite needs.

``DJANGO_SETTINGS_MODULE=config.settings`` (the default of ``manage.py``, ``config.asgi``, ``config.wsgi`` and
``config.celery_app``) is ``base``: the embedded default with no environment, production with it. There is no
production module; production differs only by environment variables (see ``.env.example``).
"""

from config.settings.base import *  # noqa: F403
