"""Declared shapes as pure functions: the values they accept and normalise, and the exact words and paths of
what they refuse (public API: clients match on them)."""

from datetime import time

import pytest

from apps.core.errors import ValidationFailed
from apps.core.shapes import (
    Boolean,
    Choice,
    ClockTime,
    Field,
    Integer,
    JsonObject,
    JsonValue,
    ListOf,
    Number,
    ObjectOrText,
    Record,
    Text,
    shape_validate,
)

INNER = Record("Inner", (Field("level", Number(min_value=0, max_value=1)),), other_keys="keep")
OUTER = Record(
    "Outer",
    (
        Field(
            "slug",
            Text(min_length=1, max_length=5, pattern=r"^[a-z]+$", pattern_message="Lowercase only."),
            required=True,
        ),
        Field("name", Text(max_length=10)),
        Field("note", Text(allow_blank=True)),
        Field("locale", Text(), default="en-US"),
        Field("count", Integer(min_value=0, max_value=3), nullable=True),
        Field("flag", Boolean()),
        Field("zone", Choice(("UTC", "Asia/Seoul"))),
        Field("at", ClockTime()),
        Field("tags", ListOf(Text(max_length=3), max_items=2)),
        Field("anything", JsonValue()),
        Field("object", JsonObject()),
        Field("notes", ObjectOrText()),
        Field("inner", INNER),
    ),
    other_keys="refuse",
)


def problems(data) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as raised:
        shape_validate(OUTER, data)
    return raised.value.fields


def test_valid_input_is_normalised():
    checked = shape_validate(
        OUTER,
        {"slug": "ab", "count": 2.0, "at": "22:30", "inner": {"other": 1, "level": 1}, "tags": ["a"], "note": ""},
    )
    assert checked == {
        "slug": "ab",
        "note": "",
        "locale": "en-US",
        "count": 2,
        "at": time(22, 30),
        "tags": ["a"],
        "inner": {"other": 1, "level": 1.0},
    }
    assert list(checked["inner"]) == ["other", "level"]  # kept keys first, then the fields in order
    assert type(checked["count"]) is int and type(checked["inner"]["level"]) is float


def test_every_problem_is_named_by_its_path_in_field_order_then_unknown_fields_sorted():
    found = problems({"zz": 1, "aa": 2, "tags": ["ok", 7, None, "long"], "inner": {"level": 2}, "count": None})
    assert found == {
        "slug": ["This field is required."],
        "tags[1]": ["Not a valid string."],
        "tags[2]": ["This field may not be null."],
        "tags[3]": ["Ensure this field has no more than 3 characters."],
        "inner.level": ["Ensure this value is less than or equal to 1."],
        "aa": ["Unknown field."],
        "zz": ["Unknown field."],
    }


def test_text_reports_every_failed_rule_in_order():
    assert problems({"slug": "Ab\x00cdef"})["slug"] == [
        "Lowercase only.",
        "Ensure this field has no more than 5 characters.",
        "Null characters are not allowed.",
    ]
    assert problems({"slug": "ab", "name": " \u0085"})["name"] == ["This field may not be blank."]
    assert problems({"slug": ""})["slug"] == ["This field may not be blank."]
    assert problems({"slug": "ab", "name": "a\ud800"})["name"] == ["Surrogate characters are not allowed: U+D800."]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"count": "1"}, "count", "A valid integer is required."),
        ({"count": True}, "count", "A valid integer is required."),
        ({"count": 1.5}, "count", "A valid integer is required."),
        ({"count": -1}, "count", "Ensure this value is greater than or equal to 0."),
        ({"flag": "yes"}, "flag", "Must be a valid boolean."),
        ({"flag": None}, "flag", "This field may not be null."),
        ({"zone": "Mars"}, "zone", '"Mars" is not a valid choice.'),
        ({"at": "25:00"}, "at", "Must be a local time as HH:MM, e.g. 22:30."),
        ({"at": "22:30\n"}, "at", "Must be a local time as HH:MM, e.g. 22:30."),
        ({"tags": "a"}, "tags", 'Expected a list of items but got type "str".'),
        ({"tags": ["a", "b", "c"]}, "tags", "Ensure this field has no more than 2 elements."),
        ({"anything": {1, 2}}, "anything", "Value must be valid JSON."),
        ({"object": []}, "object", "Must be a JSON object."),
        ({"notes": 3}, "notes", "Must be a JSON object or a string."),
        ({"inner": []}, "inner", "Invalid data. Expected a dictionary, but got list."),
        ({"inner": {"level": "x"}}, "inner.level", "A valid number is required."),
        ({"inner": {"level": 10**400}}, "inner.level", "Integer value too large to convert to float"),
    ],
)
def test_each_shape_refuses_with_its_own_words(data, path, message):
    assert problems({"slug": "ab", **data}) == {path: [message]}


@pytest.mark.parametrize("body", [None, [], "x", 3])
def test_a_body_that_is_not_an_object_is_one_problem(body):
    assert problems(body) == {"body": ["Must be a JSON object."]}
