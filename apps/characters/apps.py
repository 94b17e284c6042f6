from django.apps import AppConfig


class CharactersConfig(AppConfig):
    name = "apps.characters"
    label = "characters"
