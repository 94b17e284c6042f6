"""The persona API's config (molroo SDK 0.7's ``PersonaConfigData``) read as the engine's persona body.

The SDK sends ``personality`` (HEXACO: ``O C E A N H``, each 0..1), ``identity`` (``name``, ``role``,
``speakingStyle``, ``coreValues``, ``culturalIdentity``, ``description``, ``extensions``) and ``goals``
(``[{id, content, priority, mutable, status}]``). The engine knows the traits, the name, role, speaking style,
core values and the goals' texts; the rest is kept with the persona (its ``spec``) and reaches the prompt
context as written. Omitted traits are neutral (0.5); only active goals steer the engine.
"""

from collections.abc import Mapping
from typing import Any

from apps.personas.engine import NEUTRAL_TRAIT

TRAITS = ("O", "C", "E", "A", "N", "H")
_IDENTITY_FIELDS = {"name": "name", "role": "role", "speakingStyle": "speaking_style", "coreValues": "core_values"}


def persona_spec_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's persona body for an SDK config (shapes already checked by the caller; the engine checks
    ranges and names bad fields by path)."""
    identity = config.get("identity") or {}
    spec: dict[str, Any] = {
        "identity": {ours: identity[theirs] for theirs, ours in _IDENTITY_FIELDS.items() if theirs in identity},
    }
    if isinstance(identity.get("language"), str):
        spec["identity"]["language"] = identity["language"]
    personality = config.get("personality") or {}
    spec["personality"] = {trait: personality.get(trait, NEUTRAL_TRAIT) for trait in TRAITS}
    if "facets" in personality:
        spec["personality"]["facets"] = personality["facets"]
    spec["goals"] = [goal["content"] for goal in config.get("goals") or [] if goal.get("status", "active") == "active"]
    return spec


def persona_config_merge(config: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with a PATCH's ``updates``: ``personality`` and ``identity`` field by field, the rest whole."""
    merged = dict(config)
    for name, value in updates.items():
        if name in ("personality", "identity") and isinstance(value, Mapping):
            merged[name] = {**(config.get(name) or {}), **value}
        else:
            merged[name] = value
    return merged


def system_prompt_compose(
    *, prompt_data: Mapping[str, Any], config: Mapping[str, Any], extra: tuple[str, ...] = (), suffix: str = ""
) -> str:
    """The persona API's ``systemPrompt``: who the persona is (the engine's system prompt with its goals, then what
    the engine does not model: description, cultural identity, extensions), how it feels now and toward whom
    (the context block), how to play that (the instruction block), ``extra`` sections (a world's scene and
    relationships) and the caller's ``suffix``."""
    formatted = prompt_data.get("formatted", {})
    identity = config.get("identity") or {}
    parts = [formatted.get("system_prompt", "")]
    if identity.get("description"):
        parts.append(str(identity["description"]))
    if identity.get("culturalIdentity"):
        parts.append(f"Cultural identity: {identity['culturalIdentity']}")
    for name, value in (identity.get("extensions") or {}).items():
        parts.append(f"{name}: {value}")
    parts += [formatted.get("context_block", ""), formatted.get("instruction_block", ""), *extra, suffix]
    return "\n\n".join(part.strip() for part in parts if part and part.strip())
