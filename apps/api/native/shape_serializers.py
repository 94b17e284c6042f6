"""DRF serializers derived from the domain's declared shapes (``apps.core.shapes``), for the OpenAPI schema.

The domain validates what integrators author itself (its services raise ValidationFailed); the serializers built
here only document the same shapes, field for field, with the strict fields whose schema says exactly what is
accepted, so the schema cannot drift from the rules.
"""

import functools

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField
from apps.core.shapes import (
    MISSING,
    Boolean,
    Choice,
    Field,
    Integer,
    JsonObject,
    JsonValue,
    ListOf,
    Number,
    NumberedChoice,
    ObjectOrText,
    Record,
    Shape,
    Text,
)


class AnyObjectField(serializers.JSONField):
    """A JSON object (dict)."""

    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        return value


class ObjectOrTextField(serializers.JSONField):
    """A JSON object or a string (free-form authoring notes)."""

    default_error_messages = {"invalid_kind": "Must be a JSON object or a string."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict | str):
            self.fail("invalid_kind")
        return value


@functools.cache
def _numbered_choice_field(choices: tuple[str, ...]) -> type[serializers.Field]:
    """A field documented as one of the names or its number (a ``NumberedChoice``)."""
    schema = {
        "oneOf": [
            {"type": "string", "enum": list(choices)},
            {"type": "integer", "minimum": 0, "maximum": len(choices) - 1},
        ]
    }
    return extend_schema_field(schema)(type("NumberedChoiceField", (serializers.JSONField,), {}))


def _field_options(field: Field) -> dict:
    options: dict = {"required": field.required}
    if field.default is not MISSING:
        options["default"] = field.default
    if field.nullable:
        options["allow_null"] = True
    if field.doc:
        options["help_text"] = field.doc
    return options


def shape_field(shape: Shape, **options) -> serializers.Field:
    """The serializer field for ``shape``; ``options`` are the field's own (required, default, help_text...)."""
    match shape:
        case Text():  # ClockTime too: a text with its pattern
            validators = [RegexValidator(shape.pattern, shape.pattern_message)] if shape.pattern else None
            lengths = {"min_length": shape.min_length, "max_length": shape.max_length}
            lengths = {name: value for name, value in lengths.items() if value is not None}
            return StrictCharField(allow_blank=shape.allow_blank, validators=validators, **lengths, **options)
        case Integer():
            return StrictIntegerField(min_value=shape.min_value, max_value=shape.max_value, **options)
        case Number():
            return StrictFloatField(min_value=shape.min_value, max_value=shape.max_value, **options)
        case Boolean():
            return StrictBooleanField(**options)
        case NumberedChoice():
            return _numbered_choice_field(shape.choices)(**options)
        case Choice():
            return serializers.ChoiceField(choices=list(shape.choices), **options)
        case JsonObject():
            return AnyObjectField(**options)
        case ObjectOrText():
            return ObjectOrTextField(**options)
        case JsonValue():
            return serializers.JSONField(**options)
        case ListOf():
            return serializers.ListField(child=shape_field(shape.item), max_length=shape.max_items, **options)
        case Record():
            return shape_serializer(shape)(**options)
    raise TypeError(f"No serializer field for {shape!r}")


# The base of the serializers built from records; ``other_keys`` is the record's (the schema says
# ``additionalProperties: false`` for a record that refuses unknown keys). No docstring: a record without a doc
# of its own would show the base's in the schema.
class ShapeSerializer(serializers.Serializer):
    other_keys = "ignore"


@functools.cache
def shape_serializer(record: Record) -> type[serializers.Serializer]:
    """The serializer class of ``record``, named ``<record.name>Serializer`` and described by its doc. One class
    per record, so a record nested in several places is one schema component."""
    attrs = {field.name: shape_field(field.shape, **_field_options(field)) for field in record.fields}
    attrs.update(__doc__=record.doc or None, __module__=__name__, other_keys=record.other_keys)
    return type(f"{record.name}Serializer", (ShapeSerializer,), attrs)
