"""Personality: the six HEXACO domains, their 24 facets, identity and goals.

Domains use molroo's letters: ``O`` openness, ``C`` conscientiousness, ``E`` extraversion, ``A``
agreeableness, ``N`` neuroticism (HEXACO's emotionality, named the Big-Five way) and ``H``
honesty-humility. All in [0, 1]. A Big-Five-only input (no ``H``) gets ``NEUTRAL_TRAIT``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.personas.engine.errors import EngineInputInvalid, UnknownPreset
from apps.personas.engine.identity import Identity
from apps.personas.engine.preset_data import PRESETS, Preset

DOMAINS: tuple[str, ...] = ("O", "C", "E", "A", "N", "H")
NEUTRAL_TRAIT = 0.5

# Four facets per domain, following the HEXACO-PI-R facet scales.
FACETS: dict[str, tuple[str, str, str, str]] = {
    "H": ("sincerity", "fairness", "greed_avoidance", "modesty"),
    "N": ("fearfulness", "anxiety", "dependence", "sentimentality"),
    "E": ("social_self_esteem", "social_boldness", "sociability", "liveliness"),
    "A": ("forgivingness", "gentleness", "flexibility", "patience"),
    "C": ("organization", "diligence", "perfectionism", "prudence"),
    "O": ("aesthetic_appreciation", "inquisitiveness", "creativity", "unconventionality"),
}
FACET_DOMAIN: dict[str, str] = {facet: domain for domain, names in FACETS.items() for facet in names}

IDENTITY_TEXT_LIMIT = 2000
LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Personality:
    """A resolved persona: six domains, all 24 facets (a facet defaults to its domain's value), identity, goals."""

    O: float  # noqa: E741 - the domain letters are the public field names
    C: float
    E: float
    A: float
    N: float
    H: float = NEUTRAL_TRAIT
    facets: Mapping[str, float] = field(default_factory=dict)
    identity: Identity = field(default_factory=Identity)
    goals: tuple[str, ...] = ()
    preset: str | None = None

    def trait(self, domain: str) -> float:
        return getattr(self, domain)

    def facet(self, name: str) -> float:
        value = self.facets.get(name)
        return value if value is not None else getattr(self, FACET_DOMAIN[name])

    def traits_dict(self) -> dict[str, float]:
        return {domain: getattr(self, domain) for domain in DOMAINS}

    def to_dict(self) -> dict[str, Any]:
        """The resolved persona in molroo's shape: ``{preset, identity, personality{O..H, facets}, goals}``."""
        facets = {name: round(self.facet(name), 4) for names in FACETS.values() for name in names}
        return {
            "preset": self.preset,
            "identity": self.identity.to_dict(),
            "personality": {**self.traits_dict(), "facets": facets},
            "goals": list(self.goals),
        }


def _number(value: Any, path: str, problems: dict[str, list[str]], low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems[path] = ["Must be a number."]
        return NEUTRAL_TRAIT
    if not (low <= value <= high) or value != value:
        problems[path] = [f"Must be between {low:g} and {high:g}."]
        return NEUTRAL_TRAIT
    return float(value)


def _text(value: Any, path: str, problems: dict[str, list[str]], default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        problems[path] = ["Must be a string."]
        return default
    if len(value) > IDENTITY_TEXT_LIMIT:
        problems[path] = [f"At most {IDENTITY_TEXT_LIMIT} characters."]
        return default
    return value.strip()


def _texts(value: Any, path: str, problems: dict[str, list[str]]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or len(value) > LIST_LIMIT:
        problems[path] = [f"Must be a list of at most {LIST_LIMIT} strings."]
        return ()
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > IDENTITY_TEXT_LIMIT:
            problems[f"{path}[{index}]"] = ["Must be a non-empty string."]
            continue
        items.append(item.strip())
    return tuple(items)


def _mapping(value: Any, path: str, problems: dict[str, list[str]]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems[path] = ["Must be an object."]
        return {}
    return value


def personality_from_spec(spec: Mapping[str, Any]) -> Personality:
    """Resolve a molroo persona body into a Personality.

    ``spec`` may hold ``preset`` (an id from ``PRESETS``), ``identity``, ``personality`` (``O C E A N`` and
    optionally ``H`` and ``facets``) and ``goals``. With a preset, every custom field given wins over the
    preset's (traits one by one, identity field by field, goals as a whole). Without a preset, ``O C E A N``
    are required; ``H`` defaults to ``NEUTRAL_TRAIT``. Raises UnknownPreset or EngineInputInvalid (all bad
    fields named by path, e.g. ``personality.N``, ``personality.facets.modesty``).
    """
    if not isinstance(spec, Mapping):
        raise EngineInputInvalid({"body": ["Must be a JSON object."]})
    preset = _preset_of(spec)
    problems: dict[str, list[str]] = {}
    raw_traits = _mapping(spec.get("personality"), "personality", problems)
    traits = _traits(raw_traits, preset, problems)
    facets = _facets(raw_traits, problems)
    identity = _identity(
        _mapping(spec.get("identity"), "identity", problems), preset.identity if preset else Identity(), problems
    )
    goals = _texts(spec["goals"], "goals", problems) if "goals" in spec else (preset.goals if preset else ())
    if problems:
        raise EngineInputInvalid(problems)
    return Personality(
        O=traits["O"],
        C=traits["C"],
        E=traits["E"],
        A=traits["A"],
        N=traits["N"],
        H=traits["H"],
        facets=facets,
        identity=identity,
        goals=goals,
        preset=preset.id if preset else None,
    )


def _preset_of(spec: Mapping[str, Any]) -> Preset | None:
    """The preset ``spec`` names, if any; raises for a non-string or unknown id."""
    preset_id = spec.get("preset")
    if preset_id is None:
        return None
    if not isinstance(preset_id, str):
        raise EngineInputInvalid({"preset": ["Must be a string."]})
    preset = PRESETS.get(preset_id)
    if preset is None:
        raise UnknownPreset(preset_id)
    return preset


def _traits(raw_traits: Mapping[str, Any], preset: Preset | None, problems: dict[str, list[str]]) -> dict[str, float]:
    """The six domains: the preset's, overridden one by one by the spec's; O C E A N required without a preset."""
    traits: dict[str, float] = dict(preset.personality) if preset else {}
    for domain in DOMAINS:
        if domain in raw_traits:
            traits[domain] = _number(raw_traits[domain], f"personality.{domain}", problems)
        elif domain not in traits and domain != "H":
            problems[f"personality.{domain}"] = ["This field is required (a number in [0, 1])."]
    unknown = sorted(set(raw_traits) - set(DOMAINS) - {"facets"})
    for key in unknown:
        problems[f"personality.{key}"] = ["Unknown trait; use O, C, E, A, N, H and facets."]
    traits.setdefault("H", NEUTRAL_TRAIT)
    return traits


def _facets(raw_traits: Mapping[str, Any], problems: dict[str, list[str]]) -> dict[str, float]:
    """The facets the spec sets; the others follow their domain (``Personality.facet``)."""
    facets: dict[str, float] = {}
    for name, value in _mapping(raw_traits.get("facets"), "personality.facets", problems).items():
        if name not in FACET_DOMAIN:
            problems[f"personality.facets.{name}"] = ["Unknown facet."]
            continue
        facets[name] = _number(value, f"personality.facets.{name}", problems)
    return facets


def _identity(raw: Mapping[str, Any], base: Identity, problems: dict[str, list[str]]) -> Identity:
    """``base`` (the preset's identity, or the empty one) with the fields the spec gives, one by one."""
    return Identity(
        name=_text(raw.get("name"), "identity.name", problems, base.name),
        core_values=(
            _texts(raw["core_values"], "identity.core_values", problems) if "core_values" in raw else base.core_values
        ),
        speaking_style=_text(raw.get("speaking_style"), "identity.speaking_style", problems, base.speaking_style),
        role=_text(raw.get("role"), "identity.role", problems, base.role),
        language=_text(raw.get("language"), "identity.language", problems, base.language) or "en",
    )


def personality_from_dict(data: Mapping[str, Any]) -> Personality:
    """Rebuild a Personality from ``Personality.to_dict()`` output (stored state); validates like a custom spec."""
    spec = {key: data[key] for key in ("identity", "personality", "goals") if key in data}
    resolved = personality_from_spec(spec)
    preset = data.get("preset")
    if isinstance(preset, str):
        return Personality(**{**_fields(resolved), "preset": preset})
    return resolved


def _fields(personality: Personality) -> dict[str, Any]:
    return {name: getattr(personality, name) for name in Personality.__slots__}
