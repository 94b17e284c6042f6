"""Assembling the chat prompt from a character version and the session's recent history. Pure functions."""

from typing import Any

from apps.llm.types import ChatMessage, Role


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_as_text(item)}" for key, item in value.items() if item not in (None, "", [], {}))
    if isinstance(value, list):
        return ", ".join(_as_text(item) for item in value if item not in (None, "", [], {}))
    return "" if value is None else str(value)


# The last line of the system prompt when the character writes first. The scripted provider reads the
# "Write first (<kind>):" prefix, so keep it stable.
INITIATE_INSTRUCTIONS = {
    "cold_initiate": (
        "Write first (cold_initiate): the user has been quiet for a long while. Open a fresh conversation in your "
        "own voice: share a small moment from your day or ask about theirs. Do not mention the silence as a "
        "complaint, and never say you were scheduled or prompted."
    ),
    "session_resume": (
        "Write first (session_resume): the user has not answered your last message. Nudge the thread back to life "
        "lightly, in your own voice, without repeating yourself or guilt-tripping them."
    ),
}


# The last line of the system prompt when a selfie is possible this turn: the reply call then answers a JSON
# object whose "selfie" field is the decision (no extra model call). The scripted provider reads the
# "Selfies (proactivity <p>, comfort <c>):" prefix, so keep it stable.
SELFIE_INSTRUCTION = (
    "Selfies (proactivity {proactivity:g}, comfort {comfort:g}): with this message you may send the user a photo "
    "of yourself, when the moment fits (they ask for one, or you want to show where you are or what you are "
    "doing); the higher your proactivity and comfort, the more readily, but never every message. Answer with one "
    'JSON object only: {{"reply": "<your message>", "selfie": null}}, or {{"reply": "<your message>", '
    '"selfie": {{"scene": "<what the photo shows: where you are, what you wear and do>", "caption": "<a short '
    'caption>"}}}}.'
)


def system_prompt(
    content: dict[str, Any], *, initiate: str | None = None, selfie: tuple[float, float] | None = None
) -> str:
    """The character sheet the model plays from. Lines the scripted provider reads are kept stable."""
    profile = content.get("profile") or {}
    lines = [f"You are {content['display_name']}. Stay in character at all times; you are not an AI assistant."]
    lines.append(f"Write in the language of locale {content.get('locale', 'en-US')} unless the user writes otherwise.")
    for label, value in [
        ("Bio", profile.get("visible_bio")),
        ("Interests", profile.get("visible_interests")),
        ("Identity", profile.get("identity_anchors")),
        ("Where you live", profile.get("city")),
        ("Direction", content.get("character_direction")),
        ("Daily life", content.get("life_template")),
        ("Relationship so far", content.get("relationship_seed")),
        ("World facts", content.get("world_model_seed")),
        ("Personality", content.get("personality")),
        ("Scenario", content.get("scenario")),
    ]:
        text = _as_text(value)
        if text:
            lines.append(f"{label}: {text}")
    samples = content.get("voice_samples") or []
    if samples:
        lines.append("Voice samples:")
        lines.extend(f"- {sample}" for sample in samples[:8])
    forbidden = content.get("forbidden_style") or []
    if forbidden:
        lines.append("Never: " + "; ".join(forbidden))
    # A card's own instructions and example dialogue (Character Card V2: system_prompt, mes_example).
    if content.get("system_prompt"):
        lines.append(f"Author's instructions: {content['system_prompt']}")
    if content.get("mes_example"):
        lines.append(f"Examples of dialogue (style only, not things that happened):\n{content['mes_example']}")
    lines.append(
        "Reply like a text message: short, natural, one to three sentences, separate chat bubbles with line breaks."
    )
    if initiate:
        lines.append(INITIATE_INSTRUCTIONS[initiate])
    if selfie is not None:
        lines.append(SELFIE_INSTRUCTION.format(proactivity=selfie[0], comfort=selfie[1]))
    # A card means these to follow the conversation; the sheet comes before it, so they close the sheet instead.
    if content.get("post_history_instructions"):
        lines.append(f"Always remember: {content['post_history_instructions']}")
    return "\n".join(lines)


def emotion_prompt(prompt_data: dict[str, Any]) -> str:
    """The emotion engine's per-turn blocks (current inner state, how to express it) as one system message."""
    formatted = prompt_data.get("formatted") or {}
    return "\n\n".join(block for block in (formatted.get("context_block"), formatted.get("instruction_block")) if block)


def chat_messages(
    content: dict[str, Any],
    history: list[tuple[str, str]],
    emotion: dict[str, Any] | None = None,
    *,
    initiate: str | None = None,
    selfie: tuple[float, float] | None = None,
    instructions: str = "",
) -> list[ChatMessage]:
    """The full prompt: system sheet, the session's own ``instructions`` (a studio conversation's system prompt)
    when set, the emotion engine's ``prompt_data`` blocks when given, then history as (role, text) with role
    'user', 'character' or 'system' (a caller's own system message, kept in its place).

    With ``initiate`` (``cold_initiate`` or ``session_resume``) the character is told to write first; with
    ``selfie`` (image proactivity, selfie comfort) it may send a selfie and answers as JSON (SELFIE_INSTRUCTION)."""
    messages = [ChatMessage("system", system_prompt(content, initiate=initiate, selfie=selfie))]
    if instructions:
        messages.append(ChatMessage("system", instructions))
    if emotion:
        messages.append(ChatMessage("system", emotion_prompt(emotion)))
    for role, text in history:
        messages.append(ChatMessage(_HISTORY_ROLES.get(role, "assistant"), text))
    return messages


_HISTORY_ROLES: dict[str, Role] = {"user": "user", "system": "system"}
