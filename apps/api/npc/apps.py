from django.apps import AppConfig


class NpcApiConfig(AppConfig):
    name = "apps.api.npc"
    label = "api_npc"
    verbose_name = "NPC API (/npc/api/v1, Foil Engine-compatible)"
