"""Declared shapes of plain JSON input, and ``shape_validate`` to check a value against one.

The domain validates what integrators author (character content, proactive controls) with these shapes and no
wire framework: a ``Record`` names its ``Field``s, each field has a shape (``Text``, ``Integer``, ``Number``,
``Boolean``, ``Choice``, ``NumberedChoice``, ``ClockTime``, ``JsonValue``, ``JsonObject``, ``ObjectOrText``,
``ListOf`` or a nested ``Record``), and every problem is collected under its path
(``behavioral_thresholds.proactivity_tolerance``, ``voice_samples[1]``) into one ValidationFailed. The surfaces
render that error and derive their documentation (the OpenAPI schema) from the same shapes, so what is
documented is what is accepted.

The messages are public API: they are the words the native surface has always answered with (DRF's, from when
its serializers did this job), kept letter for letter and in the same order.
"""

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from apps.core.errors import ValidationFailed

# "Has a character that is not white space", spelled so that Python's ``re`` and ECMA-262 (the OpenAPI pattern
# clients and fuzzers read) agree: they differ on U+001C-U+001F, U+0085 and U+FEFF.
NOT_BLANK_PATTERN = r"[^\s\u001c-\u001f\u0085\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHOLE_NUMBER_TAIL = re.compile(r"\.0*\s*$")  # 5.0 is the integer 5; 5.5 is not an integer

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
BLANK = "This field may not be blank."
UNKNOWN_FIELD = "Unknown field."
NOT_AN_OBJECT = "Must be a JSON object."

Problems = dict[str, list[str]]


class _Invalid:
    """Returned by a shape's ``check`` after it recorded its problems."""


class _Missing:
    """The default of a field that has none: an absent optional field is left out."""

    def __repr__(self) -> str:
        return "MISSING"


INVALID = _Invalid()
MISSING: Any = _Missing()


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _report(problems: Problems, path: str, *messages: str) -> _Invalid:
    problems.setdefault(path, []).extend(messages)
    return INVALID


def _range_problems(value: float, minimum: float | None, maximum: float | None) -> list[str]:
    found = []
    if maximum is not None and value > maximum:
        found.append(f"Ensure this value is less than or equal to {maximum}.")
    if minimum is not None and value < minimum:
        found.append(f"Ensure this value is greater than or equal to {minimum}.")
    return found


class Shape:
    """What a present, non-null value may be. ``check`` returns the normalised value, or INVALID after adding
    its problems to ``problems`` under ``path``."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Shape):
    """A string taken exactly as sent (no numbers turned into text, no trimming). Unless ``allow_blank``, it must
    not be empty, nor (when it has no ``pattern`` of its own) only white space."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str = ""
    allow_blank: bool = False

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if value == "":
            return "" if self.allow_blank else _report(problems, path, BLANK)
        if not isinstance(value, str):
            return _report(problems, path, "Not a valid string.")
        found = []
        if self.pattern is not None and not re.search(self.pattern, value):
            found.append(self.pattern_message)
        if self.max_length is not None and len(value) > self.max_length:
            found.append(f"Ensure this field has no more than {self.max_length} characters.")
        if self.min_length is not None and len(value) < self.min_length:
            found.append(f"Ensure this field has at least {self.min_length} characters.")
        if "\x00" in value:
            found.append("Null characters are not allowed.")
        surrogate = _SURROGATE.search(value)
        if surrogate is not None:
            found.append(f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}.")
        if not self.allow_blank and self.pattern is None and not _NOT_BLANK.search(value):
            found.append(BLANK)
        return _report(problems, path, *found) if found else value


CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@dataclass(frozen=True)
class ClockTime(Text):
    """A local time of day written HH:MM; validated to a ``datetime.time``."""

    pattern: str | None = CLOCK_TIME_PATTERN
    pattern_message: str = "Must be a local time as HH:MM, e.g. 22:30."

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        text = super().check(value, path, problems)
        if text is INVALID:
            return INVALID
        try:
            return datetime.strptime(text, "%H:%M").time()
        except ValueError:  # the pattern lets "22:30\n" through ("$" matches before a final newline)
            return _report(problems, path, self.pattern_message)


@dataclass(frozen=True)
class Integer(Shape):
    """A JSON number that is whole (``5`` or ``5.0``, not ``"5"``, ``5.5`` or ``true``)."""

    min_value: int | None = None
    max_value: int | None = None

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _report(problems, path, "A valid integer is required.")
        try:
            number = int(_WHOLE_NUMBER_TAIL.sub("", str(value)))
        except ValueError:
            return _report(problems, path, "A valid integer is required.")
        found = _range_problems(number, self.min_value, self.max_value)
        return _report(problems, path, *found) if found else number


@dataclass(frozen=True)
class Number(Shape):
    """A finite JSON number (not a string or a boolean), as a float."""

    min_value: float | None = None
    max_value: float | None = None

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _report(problems, path, "A valid number is required.")
        try:
            number = float(value)
        except OverflowError:
            return _report(problems, path, "Integer value too large to convert to float")
        if not math.isfinite(number):
            return _report(problems, path, "A valid number is required.")
        found = _range_problems(number, self.min_value, self.max_value)
        return _report(problems, path, *found) if found else number


@dataclass(frozen=True)
class Boolean(Shape):
    """``true`` or ``false`` only (not ``"yes"``, ``1`` or ``"on"``)."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        return value if isinstance(value, bool) else _report(problems, path, "Must be a valid boolean.")


@dataclass(frozen=True)
class Choice(Shape):
    """One of ``choices`` (strings)."""

    choices: tuple[str, ...]
    _known: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.choices))

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if str(value) in self._known:
            return str(value)
        return _report(problems, path, f'"{value}" is not a valid choice.')


@dataclass(frozen=True)
class NumberedChoice(Choice):
    """One of ``choices``, or its position in ``choices`` as an integer (a format that numbers its choices, such
    as SillyTavern's); normalised to the name."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool) and value in range(len(self.choices)):
            return self.choices[int(value)]
        if isinstance(value, str) and value in self._known:
            return value
        names = ", ".join(self.choices)
        return _report(problems, path, f'"{value}" is not a valid choice: use {names} (or 0-{len(self.choices) - 1}).')


@dataclass(frozen=True)
class JsonValue(Shape):
    """Any JSON value."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return _report(problems, path, "Value must be valid JSON.")
        return value


@dataclass(frozen=True)
class JsonObject(JsonValue):
    """Any JSON object."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if super().check(value, path, problems) is INVALID:
            return INVALID
        return value if isinstance(value, dict) else _report(problems, path, NOT_AN_OBJECT)


@dataclass(frozen=True)
class ObjectOrText(JsonValue):
    """A JSON object or a string (free-form notes)."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if super().check(value, path, problems) is INVALID:
            return INVALID
        return value if isinstance(value, dict | str) else _report(problems, path, "Must be a JSON object or a string.")


@dataclass(frozen=True)
class ListOf(Shape):
    """A JSON array of at most ``max_items`` items of one shape (items may not be null); item problems are named
    by index (``voice_samples[1]``)."""

    item: Shape
    max_items: int | None = None

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, str | Mapping) or not hasattr(value, "__iter__"):
            return _report(problems, path, f'Expected a list of items but got type "{type(value).__name__}".')
        items, valid = [], True
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            checked = (
                _report(problems, item_path, NOT_NULL) if item is None else self.item.check(item, item_path, problems)
            )
            valid = valid and checked is not INVALID
            items.append(checked)
        if not valid:
            return INVALID
        if self.max_items is not None and len(items) > self.max_items:
            return _report(problems, path, f"Ensure this field has no more than {self.max_items} elements.")
        return items


@dataclass(frozen=True)
class Field:
    """A named field of a Record. An absent optional field is left out, or set to ``default`` when it has one;
    ``null`` is refused unless ``nullable``. ``doc`` says what the field means (the API documents it)."""

    name: str
    shape: Shape
    required: bool = False
    default: Any = MISSING
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Record(Shape):
    """A JSON object of named fields, checked in their order. Keys that are not fields are kept as sent
    (``"keep"``, placed before the fields), dropped (``"ignore"``), or refused one by one after the fields'
    problems (``"refuse"``). ``name`` and ``doc`` name and describe the record where the API documents it."""

    name: str
    fields: tuple[Field, ...]
    other_keys: Literal["keep", "ignore", "refuse"] = "ignore"
    doc: str = ""
    field_names: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    invalid_kind: ClassVar[str] = "Invalid data. Expected a dictionary, but got {kind}."

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", frozenset(item.name for item in self.fields))

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, Mapping):
            return _report(problems, path, self.invalid_kind.format(kind=type(value).__name__))
        checked: dict[str, Any] = {}
        valid = True
        for item in self.fields:
            result = self._field_check(item, value, _child(path, item.name), problems)
            if result is INVALID:
                valid = False
            elif result is not MISSING:
                checked[item.name] = result
        unknown = sorted(set(value) - self.field_names) if self.other_keys == "refuse" else []
        for name in unknown:
            _report(problems, _child(path, name), UNKNOWN_FIELD)
        valid = valid and not unknown
        if not valid:
            return INVALID
        if self.other_keys == "keep":
            return {**{key: item for key, item in value.items() if key not in self.field_names}, **checked}
        return checked

    @staticmethod
    def _field_check(item: Field, data: Mapping, path: str, problems: Problems) -> Any:
        if item.name not in data:
            return _report(problems, path, REQUIRED) if item.required else item.default
        value = data[item.name]
        if value is None:
            return None if item.nullable else _report(problems, path, NOT_NULL)
        return item.shape.check(value, path, problems)


def shape_validate(record: Record, data: Any) -> dict[str, Any]:
    """``data`` checked against ``record``, normalised (defaults filled in, numbers typed, clock times parsed).

    Raises ValidationFailed naming every problem by its path; a body that is not a JSON object is one problem
    named ``body``.
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"body": [NOT_AN_OBJECT]})
    problems: Problems = {}
    checked = record.check(data, "", problems)
    if checked is INVALID:
        raise ValidationFailed(problems)
    return checked
