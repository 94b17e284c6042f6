"""OpenAI's bodies from the domain's objects: models, chat completions and their chunks, images.

Ids: a completion is ``chatcmpl-<hex>`` (a stateful turn's id carries its run ref, ``chatcmpl-run_...``, so a
reply can be found in the session's log); a character is the model ``character:<slug>``; catalog models keep
their names. ``created`` is Unix seconds.
"""

import base64
import secrets
import time
from typing import TYPE_CHECKING, Any

from apps.llm.types import Usage

if TYPE_CHECKING:
    from apps.assets.services import DirectImage
    from apps.characters.models import Character

CHARACTER_PREFIX = "character:"
OWNED_BY_CATALOG = "dramatis"


def character_model_id(slug: str) -> str:
    return f"{CHARACTER_PREFIX}{slug}"


def character_model(character: "Character") -> dict[str, Any]:
    return {
        "id": character_model_id(character.slug),
        "object": "model",
        "created": int(character.created_at.timestamp()),
        "owned_by": character.app_id,
    }


def catalog_model(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": OWNED_BY_CATALOG}


def model_list(models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": models}


def completion_id(run_ref: str = "") -> str:
    return f"chatcmpl-{run_ref or secrets.token_hex(12)}"


def usage(value: Usage | None) -> dict[str, int]:
    value = value or Usage()
    return {
        "prompt_tokens": value.prompt_tokens,
        "completion_tokens": value.completion_tokens,
        "total_tokens": value.total_tokens,
    }


def chat_completion(*, id_: str, created: int, model: str, content: str, used: Usage | None) -> dict[str, Any]:
    return {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage(used),
    }


def _chunk(id_: str, created: int, model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": choices,
    }


def chunk(
    *, id_: str, created: int, model: str, delta: dict[str, Any] | None = None, finish_reason: str | None = None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with its single choice; ``delta`` is ``{}`` on the closing chunk."""
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
    return _chunk(id_, created, model, [choice])


def usage_chunk(*, id_: str, created: int, model: str, used: Usage | None) -> dict[str, Any]:
    """The last chunk of a stream with ``stream_options.include_usage``: no choices, the usage."""
    return {**_chunk(id_, created, model, []), "usage": usage(used)}


def images(pictures: list["DirectImage"], *, urls: list[str] | None, prompt: str) -> dict[str, Any]:
    """``{created, data}``: each picture as ``{url}`` (``urls`` given) or ``{b64_json}``, with the prompt used."""
    if urls is not None:
        data = [{"url": url, "revised_prompt": prompt} for url in urls]
    else:
        data = [{"b64_json": base64.b64encode(p.data).decode("ascii"), "revised_prompt": prompt} for p in pictures]
    return {"created": int(time.time()), "data": data}
