"""The native success envelope and its ``next_actions`` hints."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import get_view_name

SCHEMA_VERSION = "v0"


def action(command: str, description: str) -> dict[str, str]:
    return {"command": command, "description": description}


def envelope(
    data: Any, next_actions: list[dict[str, str]] | None = None, *, status: int = 200, headers=None
) -> Response:
    body = {"schema_version": SCHEMA_VERSION, "data": data, "next_actions": next_actions or []}
    return Response(body, status=status, headers=headers)


def view_name(view) -> str:
    """DRF's VIEW_NAME_FUNCTION: "CharacterCollectionApi" -> "Character Collection" in the browsable API."""
    return get_view_name(view).removesuffix(" Api")
