"""The parts of the character form, derived from the declared content shape (``types.CHARACTER_CONTENT``): one
source of truth for what can be authored, its help texts and its ranges, so the form cannot drift from the API.

Each ``Part`` is one form field: where its value lives in the content (``("behavioral_thresholds",
"daily_image_cap")``), how it is edited and how the posted text becomes content again. ``field_for_path`` maps a
validation error's path (``voice_samples[1]``, ``profile.city``) back to the part that shows it.
"""

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from django import forms

from apps.characters.content import KNOWN_PROFILE_KEYS
from apps.characters.types import CHARACTER_CONTENT
from apps.core.shapes import MISSING, Boolean, Field, Integer, JsonObject, ListOf, Number, ObjectOrText, Record, Text

from .widgets import KeyValueWidget, RowsWidget

# The profile keys with an editor of their own; the other known keys are one value each, unknown ones key/value rows.
PROFILE_EDITORS = {
    "visible_bio": ("textarea", "A short public bio, in the character's own voice or the third person."),
    "visible_interests": ("rows", "What the character is into, one interest per row."),
    "identity_anchors": ("pairs", "Stable traits as key/value rows; visual keys (hair, eyes...) steer selfies."),
}
PROFILE_OTHER_HELP = (
    "Profile keys the runtime does not read: kept as authored (readiness warns about them). Values are read as "
    "JSON when they parse as JSON (numbers, true/false, lists, objects, quoted strings), as text otherwise."
)
LOOSE_HELP = "Read as JSON when it parses as JSON, as text otherwise."

# How the content fields are grouped on the page; a content field not named here still gets a section ("More").
SECTIONS = [
    ("Identity", ["slug", "display_name", "locale", "model"]),
    ("Greeting", ["greeting", "alternate_greetings"]),
    ("Voice and style", ["voice_samples", "forbidden_style", "handoff_triggers", "inherits_style_anchors"]),
    ("Profile", ["profile"]),
    (
        "Direction and story",
        [
            "character_direction",
            "life_template",
            "story_engine",
            "arc_seeds",
            "relationship_seed",
            "world_model_seed",
            "onboarding",
        ],
    ),
    ("Behavioural thresholds", ["behavioral_thresholds"]),
    ("Emotion baseline", ["emotion_baseline"]),
    ("Integration", ["affordance_schema", "raw_sources"]),
]


def _loose_encode(value: Any, *, objects_only: bool = False, indent: int | None = None) -> str:
    """Text for a value that may be JSON or text; a text that would read back as JSON is quoted."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            # Text that starts like JSON is quoted too: unquoted, it would read back as broken JSON.
            return json.dumps(value, ensure_ascii=False) if value.strip()[:1] in ("{", "[") else value
        return json.dumps(value, ensure_ascii=False) if not objects_only or isinstance(parsed, dict | str) else value
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n")  # browsers post textarea lines with CRLF


def _loose_decode(text: str, *, objects_only: bool = False) -> Any:
    """The inverse of ``_loose_encode``: JSON when it parses (objects and strings only if ``objects_only``), else
    the text. Text that starts like JSON and does not parse is an error, not silently text."""
    text = _normalised(text)
    stripped = text.strip()
    try:
        parsed = json.loads(stripped)
    except ValueError as error:
        if stripped[:1] in "{[":
            raise forms.ValidationError(
                f"Looks like JSON but does not parse: {error}. To keep it as text, put it in double quotes."
            ) from None
        return text
    if objects_only and not isinstance(parsed, dict | str):
        return text
    return parsed


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _limits(shape: Any) -> str:
    """The shape's ranges in words, so the help says what the validation will say."""
    match shape:
        case Integer() | Number() if shape.min_value is not None and shape.max_value is not None:
            return f"From {shape.min_value} to {shape.max_value}."
        case Text() if shape.max_length:
            return f"Up to {shape.max_length} characters."
        case ListOf(item=Text(max_length=length), max_items=items) if items:
            return f"Up to {items} items of up to {length} characters; blank rows are ignored."
        case ListOf(max_items=items) if items:
            return f"Up to {items} items, one per row; {LOOSE_HELP[0].lower()}{LOOSE_HELP[1:]}"
    return ""


@dataclass(frozen=True)
class Part:
    """One form field and where its value lives in the content (``path``). ``kind`` says how it is edited:
    text, textarea, integer, number, boolean, rows, json_rows, object_or_text, object, loose, loose_area,
    pairs (a dict as key/value rows) or other (a record's unknown keys as key/value rows)."""

    name: str
    path: tuple[str, ...]
    kind: str
    label: str
    help_text: str = ""
    required: bool = False
    shape: Any = None
    multiline: bool = False
    known: frozenset[str] = frozenset()  # for "other": the record's own keys, edited elsewhere

    def form_field(self) -> forms.Field:
        options = {"required": self.required, "label": self.label, "help_text": self.help_text}
        match self.kind:
            case "text":
                return forms.CharField(strip=False, **options)
            case "textarea" | "loose_area" | "object_or_text" | "object":
                return forms.CharField(strip=False, widget=forms.Textarea(attrs={"rows": 4}), **options)
            case "loose":
                return forms.CharField(strip=False, **options)
            case "integer" | "number":
                attrs = {"step": 1 if self.kind == "integer" else _step(self.shape)}
                attrs.update({"min": self.shape.min_value} if self.shape.min_value is not None else {})
                attrs.update({"max": self.shape.max_value} if self.shape.max_value is not None else {})
                return forms.CharField(widget=forms.NumberInput(attrs=attrs), **options)
            case "boolean":
                # Three states: the runtime's default applies when the knob is not set, so "no" is not "unset".
                choices = [("", "not set (the default applies)"), ("true", "yes"), ("false", "no")]
                return forms.ChoiceField(choices=choices, **options)
            case "rows" | "json_rows":
                return forms.Field(widget=RowsWidget(multiline=self.multiline), **options)
            case "pairs" | "other":
                return forms.Field(widget=KeyValueWidget(), **options)
        raise ValueError(f"Unknown part kind {self.kind}")

    def initial(self, content: dict[str, Any]) -> Any:
        value = _at(content, self.path)
        if self.kind == "other":
            record = value if isinstance(value, dict) else {}
            return [(key, _loose_encode(item)) for key, item in record.items() if key not in self.known]
        if value is MISSING:
            return [] if self.kind in {"rows", "json_rows", "pairs"} else ""
        match self.kind:
            case "integer" | "number" | "text" | "textarea":
                return str(value)
            case "boolean":
                return "true" if value is True else "false" if value is False else str(value)
            case "rows":
                return list(value)
            case "json_rows":
                return [_loose_encode(item) for item in value]
            case "pairs":
                return [(key, _loose_encode(item)) for key, item in value.items()]
            case "object_or_text":
                return _loose_encode(value, objects_only=True, indent=2)
            case "object":
                return json.dumps(value, ensure_ascii=False, indent=2)
        return _loose_encode(value, indent=2 if self.kind == "loose_area" else None)

    def fits(self, content: dict[str, Any]) -> bool:
        """Whether the content's value can be shown by this part's editor (a profile value authored through the
        API may be of any JSON kind; one that does not fit is edited as JSON-or-text instead)."""
        value = _at(content, self.path)
        if value is MISSING or self.kind not in {"rows", "pairs", "textarea"}:
            return True
        if self.kind == "rows":
            return isinstance(value, list) and all(isinstance(item, str) for item in value)
        if self.kind == "pairs":
            return isinstance(value, dict)
        return isinstance(value, str)

    def content_value(self, posted: Any) -> Any:
        """The content value for what was posted, or MISSING to leave the field out."""
        match self.kind:
            case "rows":
                items = [_normalised(item) for item in posted or [] if item.strip()]
                return items or MISSING
            case "json_rows":
                items = [_loose_decode(item) for item in posted or [] if item.strip()]
                return items or MISSING
            case "pairs" | "other":
                pairs = {key.strip(): _loose_decode(text) for key, text in posted or [] if key.strip()}
                return pairs or MISSING
        if posted is None or not str(posted).strip():
            return MISSING
        match self.kind:
            case "integer":
                return _number(posted, whole=True)
            case "number":
                return _number(posted, whole=False)
            case "boolean":
                return posted == "true"
            case "object_or_text":
                return _loose_decode(posted, objects_only=True)
            case "object":
                try:
                    return json.loads(posted)
                except ValueError as error:
                    raise forms.ValidationError(f"Not valid JSON: {error}.") from None
            case "loose" | "loose_area":
                return _loose_decode(posted)
        return _normalised(posted)


def _step(shape: Number) -> str:
    if shape.min_value is not None and shape.max_value is not None and shape.max_value - shape.min_value <= 2:
        return "0.01"
    return "any"


def _number(text: str, *, whole: bool) -> Any:
    """A number for the validation to judge; text that is not a number is passed on for it to refuse."""
    try:
        return int(text) if whole else float(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _at(content: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = content
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def _field_help(field: Field) -> str:
    doc = field.doc or (field.shape.doc if isinstance(field.shape, Record) else "")
    return " ".join(text for text in (doc, _limits(field.shape)) if text)


def _record_parts(field: Field) -> list[Part]:
    record: Record = field.shape
    parts = [_part(sub, (field.name, sub.name), f"{field.name}__{sub.name}") for sub in record.fields]
    if record.other_keys == "keep":
        parts.append(
            Part(
                f"{field.name}__other",
                (field.name,),
                "other",
                f"Other {_label(field.name).lower()} keys",
                help_text=f"Keys of your own, kept as authored. {LOOSE_HELP}",
                known=record.field_names,
            )
        )
    return parts


def _profile_parts(field: Field) -> list[Part]:
    parts = []
    for key in [*PROFILE_EDITORS, *sorted(KNOWN_PROFILE_KEYS - set(PROFILE_EDITORS))]:
        kind, help_text = PROFILE_EDITORS.get(key, ("loose", LOOSE_HELP))
        parts.append(Part(f"profile__{key}", ("profile", key), kind, _label(key), help_text=help_text))
    parts.append(
        Part(
            "profile__other",
            ("profile",),
            "other",
            "Other profile keys",
            help_text=PROFILE_OTHER_HELP,
            known=KNOWN_PROFILE_KEYS,
        )
    )
    return parts


def _part(field: Field, path: tuple[str, ...], name: str) -> Part:
    shape, help_text = field.shape, _field_help(field)
    base = Part(name, path, "text", _label(field.name), help_text=help_text, required=field.required, shape=shape)
    match shape:
        case Text():
            return replace(base, kind="textarea" if (shape.max_length or 0) > 200 else "text")
        case Integer():
            return replace(base, kind="integer")
        case Number():
            return replace(base, kind="number")
        case Boolean():
            return replace(base, kind="boolean")
        case ListOf(item=Text(max_length=length)):
            return replace(base, kind="rows", multiline=(length or 0) > 500)
        case ListOf():
            return replace(base, kind="json_rows", multiline=True)
        case ObjectOrText():
            return replace(base, kind="object_or_text")
        case JsonObject():
            return replace(base, kind="object")
    return replace(base, kind="loose_area")


def content_parts() -> list[tuple[str, list[Part]]]:
    """The form's sections and their parts, in page order, from CHARACTER_CONTENT."""
    by_name = {field.name: field for field in CHARACTER_CONTENT.fields}
    placed = {name for _, names in SECTIONS for name in names}
    sections = [*SECTIONS, ("More", [name for name in by_name if name not in placed])]
    result = []
    for title, names in sections:
        parts: list[Part] = []
        for name in names:
            field = by_name.get(name)
            if field is None:
                continue
            if name == "profile":
                parts += _profile_parts(field)
            elif isinstance(field.shape, Record):
                parts += _record_parts(field)
            else:
                parts.append(_part(field, (name,), name))
        if parts:
            result.append((title, parts))
    return result


SECTION_PARTS = content_parts()
PARTS = {part.name: part for _, parts in SECTION_PARTS for part in parts}


def field_for_path(path: str) -> str | None:
    """The form field that shows the content path ``path`` (``profile.city``, ``voice_samples[1]``), if any."""
    keys = [re.sub(r"\[\d+\]", "", segment) for segment in path.split(".")]
    for length in range(len(keys), 0, -1):
        name = "__".join(keys[:length])
        if name in PARTS:
            return name
        if length == 2 and f"{keys[0]}__other" in PARTS:
            return f"{keys[0]}__other"
    # A record edited as several fields (the emotion baseline): its first field.
    return next((name for name in PARTS if name.startswith(f"{keys[0]}__")), None)


def section_description(parts: list[Part]) -> str:
    """The docs of the content fields edited as several form fields (the profile, the records)."""
    fields = {field.name: field for field in CHARACTER_CONTENT.fields}
    split = dict.fromkeys(part.path[0] for part in parts if len(part.path) > 1 or part.kind == "other")
    return " ".join(_field_help(fields[name]) for name in split if name in fields)
