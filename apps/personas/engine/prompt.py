"""``prompt_data``: what the reply model needs to play the character's current emotional state.

Three blocks as molroo shapes them: ``system`` (stable: identity, traits, goals), ``context`` (this
turn: emotion, energy, stage, needs, relationship) and ``instruction`` (how to express it), each with
ready-to-inject text in ``formatted``, written in the persona's language. Structured values stay
machine-readable identifiers (``joy``, ``high``); only the formatted text is translated.
"""

from typing import Any

from apps.personas.engine.config import EmotionConfig
from apps.personas.engine.personality import DOMAINS, Personality
from apps.personas.engine.prompt_text import (
    ATTACHMENT,
    EMOTIONS,
    LEVELS,
    LIST_SEPARATOR,
    NEEDS,
    STAGE_GROUPS,
    STAGE_NAMES,
    TEMPLATES,
    TRAITS,
)
from apps.personas.engine.stages import STAGES
from apps.personas.engine.state import EmotionState, Relationship

_LANGUAGE_ALIASES = {
    "ko": "ko", "kor": "ko", "korean": "ko", "한국어": "ko",
    "ja": "ja", "jp": "ja", "jpn": "ja", "japanese": "ja", "日本語": "ja",
    "en": "en", "eng": "en", "english": "en",
}  # fmt: skip
_DISPLAY = {"en": "English", "ko": "한국어", "ja": "日本語"}


def prompt_language(language: str | None) -> str:
    """The template language for an identity language: ``ko``/``ja``/``en`` (``ko-KR`` -> ``ko``), else ``en``."""
    if not language:
        return "en"
    key = language.strip().lower()
    return _LANGUAGE_ALIASES.get(key) or _LANGUAGE_ALIASES.get(key.split("-")[0].split("_")[0], "en")


def _level(value: float) -> str:
    return "low" if value < 0.3 else "moderate" if value < 0.6 else "high" if value < 0.85 else "very_high"


def _t(key: str, lang: str, **values: Any) -> str:
    return TEMPLATES[key][lang].format(**values)


def prompt_data_build(
    personality: Personality,
    state: EmotionState,
    relationship: Relationship | None = None,
    config: EmotionConfig | None = None,
) -> dict[str, Any]:
    """Build molroo's ``prompt_data`` for the current state, in ``personality.identity.language``.

    ``config`` is accepted for future knobs (e.g. expression limits) and may be omitted.
    """
    identity = personality.identity
    lang = prompt_language(identity.language)
    sep = LIST_SEPARATOR[lang]
    traits = _trait_words(personality, lang)
    tendency, stage_instruction = STAGE_GROUPS[STAGES[state.stage][1]][lang]
    context, trust_line = _context(state, relationship, tendency, lang, sep)
    instruction = _instruction(state, context["emotion"], stage_instruction, trust_line, lang)
    return {
        "language": lang,
        "system": {
            "identity": identity.to_dict(),
            "personality_traits": traits,
            "goals": list(personality.goals),
        },
        "context": context,
        "instruction": instruction,
        "formatted": {
            "system_prompt": _system_prompt(personality, traits, lang, sep),
            "context_block": context["formatted"]["context_block"],
            "instruction_block": instruction["formatted"]["instruction_block"],
        },
    }


def _trait_words(personality: Personality, lang: str) -> list[str]:
    """The words for the domains far from the middle: high (>= 0.65) or low (<= 0.35)."""
    traits = []
    for domain in DOMAINS:
        value = personality.trait(domain)
        if value >= 0.65:
            traits.append(TRAITS[domain][lang][0])
        elif value <= 0.35:
            traits.append(TRAITS[domain][lang][1])
    return traits


def _system_prompt(personality: Personality, traits: list[str], lang: str, sep: str) -> str:
    """The stable block: who the character is, its traits, values, style, goals and the language to answer in."""
    identity = personality.identity
    system_lines = []
    if identity.name:
        system_lines.append(_t("you_are", lang, name=identity.name))
    if identity.role:
        system_lines.append(_t("role", lang, value=identity.role))
    if traits:
        system_lines.append(_t("personality", lang, value=sep.join(traits)))
    if identity.core_values:
        system_lines.append(_t("values", lang, value=sep.join(identity.core_values)))
    if identity.speaking_style:
        system_lines.append(_t("style", lang, value=identity.speaking_style))
    if personality.goals:
        system_lines.append(_t("goals", lang, value=sep.join(personality.goals)))
    code = identity.language.strip().lower()
    known = lang != "en" or code in _LANGUAGE_ALIASES or code.split("-")[0].split("_")[0] in _LANGUAGE_ALIASES
    system_lines.append(_t("language", lang, value=_DISPLAY[lang] if known else identity.language))
    return "\n".join(system_lines)


def _context(
    state: EmotionState, relationship: Relationship | None, tendency: str, lang: str, sep: str
) -> tuple[dict[str, Any], str | None]:
    """This turn's block (emotion, energy, stage, needs, relationship) with its text, and the line on trust
    (None without a relationship) that goes into the instruction block."""
    primary = state.discrete.primary
    intensity_level = _level(state.intensity)
    valence = "positive" if state.vad.V > 0.15 else "negative" if state.vad.V < -0.15 else "neutral"
    energy_level = _level(state.body_budget)
    needs = state.needs.to_dict()
    context_lines = [
        _t("context_header", lang),
        _t(
            "emotion",
            lang,
            primary=EMOTIONS[primary][lang],
            level=LEVELS[intensity_level][lang],
            valence=LEVELS[valence][lang],
        ),
        _t("energy", lang, level=LEVELS[energy_level][lang], percent=round(state.body_budget * 100)),
        _t("stage", lang, name=STAGE_NAMES[state.stage][lang], tendency=tendency),
        _t(
            "needs",
            lang,
            value=sep.join(f"{NEEDS[name][lang]} {LEVELS[_level(value)][lang]}" for name, value in needs.items()),
        ),
    ]
    interpersonal: dict[str, Any] = {"trust": None, "attachment_style": None}
    trust_line = None
    if relationship is not None:
        trust_level = _level(relationship.trust)
        interpersonal = {"trust": round(relationship.trust, 4), "attachment_style": relationship.attachment_style}
        context_lines.append(
            _t(
                "interpersonal",
                lang,
                trust=f"{relationship.trust:.2f}",
                level=LEVELS[trust_level][lang],
                style=ATTACHMENT[relationship.attachment_style][lang],
            )
        )
        trust_line = _t(
            "trust_high" if relationship.trust >= 0.65 else "trust_low" if relationship.trust < 0.3 else "trust_mid",
            lang,
        )
    context_block = "\n".join(context_lines)
    context = {
        "emotion": {"primary": primary, "intensity_level": intensity_level, "valence": valence},
        "energy": {"level": energy_level, "budget_percentage": round(state.body_budget * 100)},
        "stage": {"name": STAGES[state.stage][0], "behavioral_tendency": tendency},
        "needs": needs,
        "interpersonal": interpersonal,
        "formatted": {"context_block": context_block},
    }
    return context, trust_line


def _instruction(
    state: EmotionState, emotion: dict[str, str], stage_instruction: str, trust_line: str | None, lang: str
) -> dict[str, Any]:
    """How to express the state: the stage's instruction, the emotion to show, trust and low energy notes."""
    expression_guide = _t(
        "express", lang, primary=EMOTIONS[emotion["primary"]][lang], level=LEVELS[emotion["intensity_level"]][lang]
    )
    instruction_lines = [_t("instruction_header", lang), stage_instruction, expression_guide]
    if trust_line:
        instruction_lines.append(trust_line)
    if state.body_budget < 0.25:
        instruction_lines.append(_t("low_energy", lang))
    return {
        "stage_instruction": stage_instruction,
        "expression_guide": expression_guide,
        "formatted": {"instruction_block": "\n".join(instruction_lines)},
    }
