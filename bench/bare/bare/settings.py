"""The bare reference for bench/turns.py: Django + DRF inserting one row, as in perf-limits.md section 2.

No middleware, no authentication or permission work, JSON only, a psycopg pool on the same Postgres
server as the real stack (its own database, ``BARE_DATABASE_URL``). Served by daphne like production.
"""

import os

import environ

SECRET_KEY = "bench-bare-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "rest_framework", "bare"]
MIDDLEWARE = []
ROOT_URLCONF = "bare.urls"
ASGI_APPLICATION = "bare.asgi.application"
DATABASES = {"default": environ.Env().db_url_config(os.environ["BARE_DATABASE_URL"])}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 8}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
