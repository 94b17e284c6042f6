"""The studio surface's bodies, as the seed shows them, from domain objects; and the one translation the other
way, an agent's fields into a character's authoring content.

Ids are ours, unchanged: a conversation is ``sess_...``, an agent ``char_...``, an image ``img_...``, a
message ``evt_<session>_<cursor>`` (the event that holds it), a completion ``cmpl_...``; a model's id is its
catalog name. The character's side of a conversation is ``"agent"`` (the seed's word).
"""

import secrets
from typing import TYPE_CHECKING, Any

from django.utils.text import slugify

from apps.assets import selectors as assets_selectors
from apps.characters.services import ASSISTANT_SLUG
from apps.llm.types import ImageRate, ModelRate

if TYPE_CHECKING:
    from apps.assets.types import GeneratedImage, VisualAsset
    from apps.characters.models import Character
    from apps.conversations.models import Event, Session

IMAGE_READY = "image.ready"


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# --- models ----------------------------------------------------------------------------------------------
def llm_model(rate: ModelRate, *, max_context: int) -> dict[str, Any]:
    """A chat model. The catalog prices input and output tokens apart; ``cost_per_1k_tokens`` is the output
    rate (what a reply's tokens cost, the higher of the two), and both rates are listed too."""
    return {
        "id": rate.model,
        "name": rate.model,
        "max_context": max_context,
        "cost_per_1k_tokens": float(rate.output_credits_per_1k),
        "input_cost_per_1k_tokens": float(rate.input_credits_per_1k),
        "output_cost_per_1k_tokens": float(rate.output_credits_per_1k),
        "is_default": rate.is_default,
    }


def sd_model(rate: ImageRate) -> dict[str, Any]:
    """An image model: it has no context and is priced per picture (``cost_per_image``), so the token fields
    are null."""
    return {
        "id": rate.model,
        "name": rate.model,
        "max_context": None,
        "cost_per_1k_tokens": None,
        "cost_per_image": float(rate.credits_per_image),
        "width": rate.width,
        "height": rate.height,
        "is_default": rate.is_default,
    }


# --- agents ----------------------------------------------------------------------------------------------
def agent_content(*, name: str, appearance: str, personality: str, description: str) -> dict[str, Any]:
    """An agent's fields as a character's authoring content: the description is the character's bio, the
    personality its direction, the appearance its identity anchor (what its pictures keep). The slug is made
    from the name plus a random tail, so two agents may share a name."""
    slug = f"{slugify(name)[:60] or 'agent'}-{secrets.token_hex(4)}"
    profile: dict[str, Any] = {}
    if description:
        profile["visible_bio"] = description
    if appearance:
        profile["identity_anchors"] = {"appearance": appearance}
    content: dict[str, Any] = {"slug": slug, "display_name": name, "profile": profile}
    if personality:
        content["character_direction"] = personality
    return content


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def agent(character: "Character", identity: "VisualAsset | None", *, with_avatar: bool = True) -> dict[str, Any]:
    version = character.current_version
    content = version.content if version is not None else character.draft or {}
    profile = content.get("profile") if isinstance(content.get("profile"), dict) else {}
    anchors = profile.get("identity_anchors")
    appearance = _text(anchors.get("appearance")) if isinstance(anchors, dict) else _text(anchors)
    body = {
        "id": character.pk,
        "name": content.get("display_name") or character.display_name,
        "appearance_prompt": appearance,
        "personality_prompt": _text(content.get("character_direction")),
        "description": _text(profile.get("visible_bio")),
    }
    if with_avatar:
        body["avatar_url"] = assets_selectors.file_url_signed(identity.file).url if identity is not None else None
    return body


# --- conversations and messages --------------------------------------------------------------------------
def agent_id(character: "Character") -> str | None:
    """The agent a conversation talks to; None for the app's built-in assistant (no agent was named)."""
    return None if character.slug == ASSISTANT_SLUG else character.pk


def conversation(session: "Session") -> dict[str, Any]:
    return {
        "id": session.pk,
        "title": session.title,
        "system_prompt": session.system_prompt,
        "llm_id": session.model or None,
        "last_message_at": iso(getattr(session, "last_message_at", None)),
        "agent_id": agent_id(session.character),
        "created_at": iso(session.created_at),
    }


def _role(role: str | None) -> str:
    return "user" if role == "user" else "agent"


def message_event(event: dict[str, Any]) -> dict[str, Any]:
    """One message of a conversation from its public event dict. A picture inserted into the conversation
    (``image.ready``) is a message of the agent with empty content and an ``image`` ``{id, url, ...}``."""
    payload = event.get("payload") or {}
    body = {
        "id": event["event_id"],
        "content": "" if event["event_type"] == IMAGE_READY else payload.get("text", ""),
        "role": _role(event.get("role")),
        "created_at": event["created_at"],
    }
    if event["event_type"] == IMAGE_READY:
        body["image"] = {
            "id": payload.get("image_id"),
            "url": payload.get("url"),
            "thumbnail_url": payload.get("thumbnail_url"),
            "url_expires_at": payload.get("url_expires_at"),
            "prompt": payload.get("prompt_summary", ""),
        }
    elif payload.get("selfie"):
        body["selfie"] = payload["selfie"]
    return body


def messages(events: list["Event"]) -> list[dict[str, Any]]:
    return [message_event(event.as_public_dict()) for event in events]


def reply(event: dict[str, Any], trace: dict[str, Any] | None = None) -> dict[str, Any]:
    """A turn's answer: the character's ``message.created``; with ``verbose`` its thought process too."""
    body = message_event(event)
    if trace is not None:
        body["thought_process"] = trace
    return body


# --- images ----------------------------------------------------------------------------------------------
def image(picture: "GeneratedImage") -> dict[str, Any]:
    links = assets_selectors.image_links(image_id=picture.pk)
    return {
        "id": picture.pk,
        "prompt": picture.prompt,
        "url": links["url"],
        "created_at": iso(picture.created_at),
        "thumbnail_url": links["thumbnail_url"],
        "url_expires_at": links["url_expires_at"],
        "conversation_id": picture.session_id or None,
        "sd_model_id": picture.model,
    }


def page(items: list[dict[str, Any]], *, total: int, current: int, size: int) -> dict[str, Any]:
    pages = (total + size - 1) // size
    return {
        "data": items,
        "pagination": {
            "total_items": total,
            "current_page": current,
            "page_size": size,
            "total_pages": pages,
            "next_page": current + 1 if current < pages else None,
            "prev_page": current - 1 if current > 1 else None,
        },
    }
