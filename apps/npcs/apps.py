from django.apps import AppConfig


class NpcsConfig(AppConfig):
    name = "apps.npcs"
    label = "npcs"
