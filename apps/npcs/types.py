"""Plain values of the npcs app that other apps and the surfaces use.

``NPC_SCENARIO`` is the declared shape of the ``creator/save`` body, which ``/full`` returns with ids added
(``services.npc_save`` validates it; the surface documents it from the same declaration). The engine's value
types (``Evaluation``, ``StepResult``, ``MachineGraph``, ...) are named here so that other apps reach them
through this door, and so are the rows the services and selectors hand out (never to be queried or saved
outside this app).
"""

import re
from dataclasses import dataclass
from typing import Any

from apps.core.shapes import (
    INVALID,
    Boolean,
    Choice,
    Field,
    Integer,
    JsonValue,
    ListOf,
    Problems,
    Record,
    Shape,
    Text,
)
from apps.npcs.engine import (
    COMPARISONS,
    DECISIONS,
    LINK_CONDITIONS,
    SCORING_MODES,
    TERMINALS,
    Evaluation,
    MachineGraph,
    PlaythroughState,
    StepResult,
    regex_compile,
)
from apps.npcs.models import NPC, Machine, Playthrough

__all__ = [
    "NPC",
    "NPC_SCENARIO",
    "Evaluation",
    "Machine",
    "MachineGraph",
    "Playthrough",
    "PlaythroughState",
    "PlaythroughStep",
    "PlayerMachine",
    "StepResult",
    "UnlockedMachine",
]

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_KEY = Text(max_length=64, pattern=KEY_PATTERN, pattern_message="Use letters, digits, '_', '.' and '-' only.")
_ID = Field("id", Text(max_length=40), doc="Present in /full; ignored on save (keys identify things).")


def _prose(max_length: int) -> Text:
    return Text(max_length=max_length, allow_blank=True)


@dataclass(frozen=True)
class _Regex(Text):
    """A pattern that compiles (Python syntax, matched ignoring case)."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        text = super().check(value, path, problems)
        if text is INVALID:
            return INVALID
        try:
            regex_compile(text)
        except re.error as error:
            problems.setdefault(path, []).append(f"Does not compile: {error}.")
            return INVALID
        return text


_MATCHERS = {
    "keywords": Record(
        "KeywordsMatcher",
        (
            Field("type", Choice(("keywords",)), required=True),
            Field("keywords", ListOf(Text(max_length=200), max_items=100), required=True),
        ),
        other_keys="refuse",
    ),
    "regex": Record(
        "RegexMatcher",
        (Field("type", Choice(("regex",)), required=True), Field("pattern", _Regex(max_length=1000), required=True)),
        other_keys="refuse",
    ),
    "variable": Record(
        "VariableMatcher",
        (
            Field("type", Choice(("variable",)), required=True),
            Field("key", _KEY, required=True),
            Field("op", Choice(COMPARISONS), default="eq"),
            Field("value", JsonValue(), nullable=True, default=None),
        ),
        other_keys="refuse",
    ),
}


@dataclass(frozen=True)
class _Matcher(Shape):
    """One of the matcher records, chosen by its ``type``."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        kind = value.get("type") if isinstance(value, dict) else None
        record = _MATCHERS.get(kind) if isinstance(kind, str) else None
        if record is None:
            if not isinstance(value, dict):
                problems.setdefault(path, []).append("Must be a JSON object.")
            else:
                problems.setdefault(f"{path}.type", []).append(f"Must be one of {', '.join(_MATCHERS)}.")
            return INVALID
        checked = record.check(value, path, problems)
        if checked is not INVALID and kind == "keywords" and not any(k.strip() for k in checked["keywords"]):
            problems.setdefault(f"{path}.keywords", []).append("Give at least one keyword.")
            return INVALID
        return checked

    def json_schema(self, convert) -> dict[str, Any]:
        """One of the matcher records (for the OpenAPI documents), a keywords matcher with a keyword at least."""
        keywords = {"allOf": [convert(_MATCHERS["keywords"]), {"properties": {"keywords": {"minItems": 1}}}]}
        return {"oneOf": [keywords, convert(_MATCHERS["regex"]), convert(_MATCHERS["variable"])]}


STATE = Record(
    "NpcState",
    (
        _ID,
        Field("key", _KEY, required=True),
        Field("name", _prose(200), default=""),
        Field("is_initial", Boolean(), default=False),
        Field("terminal", Choice(TERMINALS), nullable=True, default=None, doc="null, win (ACCEPT) or lose (REJECT)."),
        Field("system_prompt", _prose(20000), default=""),
        Field("evaluation_criteria", _prose(20000), default=""),
        Field("follow_up_condition", _prose(4000), default=""),
        Field("redirect_limit", Integer(min_value=0, max_value=100), default=3),
    ),
    other_keys="refuse",
)

TRANSITION = Record(
    "NpcTransition",
    (
        _ID,
        Field("from_state_key", _KEY, required=True),
        Field("to_state_key", _KEY, required=True),
        Field("decision_type", Choice(DECISIONS), required=True),
        Field("score_delta", Integer(min_value=-1_000_000, max_value=1_000_000), default=0),
        Field("priority", Integer(min_value=-1_000_000, max_value=1_000_000), default=0, doc="Lower first."),
        Field("condition", _prose(4000), default=""),
        Field("matchers", ListOf(_Matcher(), max_items=20), default=[]),
    ),
    other_keys="refuse",
)

VARIABLE = Record(
    "NpcVariable",
    (_ID, Field("key", _KEY, required=True), Field("extraction_prompt", Text(max_length=4000), required=True)),
    other_keys="refuse",
)

MACHINE = Record(
    "NpcMachine",
    (
        _ID,
        Field("key", _KEY, required=True),
        Field("name", Text(max_length=200), required=True),
        Field("description", _prose(4000), default=""),
        Field("objective", _prose(4000), default=""),
        Field("scoring_mode", Choice(SCORING_MODES), default="scoring"),
        Field("is_entry", Boolean(), default=False),
        Field("is_published", Boolean(), default=False),
        Field("states", ListOf(STATE, max_items=100), default=[]),
        Field("transitions", ListOf(TRANSITION, max_items=1000), default=[]),
        Field("variables", ListOf(VARIABLE, max_items=50), default=[]),
    ),
    other_keys="refuse",
)

LINK = Record(
    "NpcMachineLink",
    (
        _ID,
        Field("from_machine_key", _KEY, required=True),
        Field("to_machine_key", _KEY, required=True),
        Field(
            "condition",
            Record(
                "NpcLinkCondition",
                (
                    Field("type", Choice(LINK_CONDITIONS), required=True),
                    Field("value", JsonValue(), nullable=True, default=None),
                ),
                other_keys="refuse",
            ),
            required=True,
        ),
        Field("auto_advance", Boolean(), default=False),
    ),
    other_keys="refuse",
)

PERSONA = Record(
    "NpcPersona",
    (
        _ID,
        Field("name", Text(max_length=120), required=True),
        Field("description", _prose(4000), default=""),
        Field("identity_prompt", _prose(20000), default="", doc="Backstory and personality, in every model call."),
        Field("is_public", Boolean(), default=False),
    ),
    other_keys="refuse",
)

NPC_SCENARIO = Record(
    "NpcScenario",
    (
        Field("persona", PERSONA, required=True),
        Field("machines", ListOf(MACHINE, max_items=50), default=[]),
        Field("machine_links", ListOf(LINK, max_items=500), default=[]),
    ),
    other_keys="refuse",
    doc="An NPC's persona and its whole scenario set; /full returns it with ids added.",
)


@dataclass(frozen=True)
class UnlockedMachine:
    """A machine a completed one unlocked (Foil's ``unlocked_machines`` items)."""

    machine_id: str
    machine_key: str
    name: str
    is_auto_advance: bool


@dataclass(frozen=True)
class PlaythroughStep:
    """A step applied: the saved playthrough, the engine's result, and the machines it unlocked."""

    playthrough: Playthrough
    result: StepResult
    unlocked: tuple[UnlockedMachine, ...]


@dataclass(frozen=True)
class PlayerMachine:
    """A machine a player may play, with their playthrough of it (None before they start) and whether a
    link leads to it (it was unlocked rather than open from the start)."""

    machine: Machine
    playthrough: Playthrough | None
    is_linked: bool
