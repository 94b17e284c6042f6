"""Foil's player chat routes, ``/npc/api/v1/chat/{persona_id}/...``: the SDK routes' views, bodies and errors,
keyed by the same API keys in ``X-API-Key`` or ``Authorization: Bearer`` (Foil's own want a signed-in web
user; here a game's backend or a trusted client plays on its app's key, as persona management does)."""

from apps.api.npc.management import ManagementApiView
from apps.api.npc.views import NpcApiView


def player_view(view: type[NpcApiView]) -> type[NpcApiView]:
    """``view`` (an SDK route's) as a player route: the same handlers, either key header."""
    return type(
        f"Player{view.__name__}",
        (view,),
        {"authentication_classes": ManagementApiView.authentication_classes, "__module__": __name__},
    )
