"""Building blocks of the hand-written OpenAPI 3.1 documents (the surfaces whose bodies are another product's,
not DRF serializers'), and the JSON Schema of a declared shape (``apps.core.shapes``), so that a body the domain
validates with a shape is documented from that same declaration.

A shape class of a domain's own (one that is not among the core ones) documents itself with a
``json_schema(convert)`` method, where ``convert`` turns a nested shape into its schema.
"""

from collections.abc import Callable
from typing import Any

from apps.core.shapes import (
    MISSING,
    NOT_BLANK_PATTERN,
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

Schema = dict[str, Any]
JSON_OBJECT: Schema = {"type": "object"}
# Any JSON value but null (a field that takes null says so itself).
JSON_NOT_NULL: Schema = {"type": ["object", "array", "string", "number", "boolean"]}


def obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> Schema:
    """An object with ``properties``, all of them required unless ``required`` names the ones that are."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (a ``type`` gains ``null``; anything else becomes an ``anyOf``)."""
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def json_content(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def text_schema(*, max_length: int | None = None, blank: bool = False, pattern: str | None = None) -> Schema:
    """A string; unless ``blank``, one with a character that is not white space (what the strict fields ask)."""
    schema: Schema = {"type": "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if pattern is not None:
        schema["pattern"] = pattern
    elif not blank:
        schema["pattern"] = NOT_BLANK_PATTERN
    if not blank:
        schema["minLength"] = 1
    return schema


class ShapeSchemas:
    """JSON Schemas of shapes; each ``Record`` becomes a component under its name (in ``components``), so that
    a record used in several places is documented once."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def of(self, shape: Shape) -> Schema:
        own: Callable[[Callable[[Shape], Schema]], Schema] | None = getattr(shape, "json_schema", None)
        if own is not None:
            return own(self.of)
        match shape:
            case Text():
                schema = text_schema(max_length=shape.max_length, blank=shape.allow_blank, pattern=shape.pattern)
                if shape.min_length is not None:
                    schema["minLength"] = max(shape.min_length, schema.get("minLength", 0))
                return schema
            case Integer():
                return _bounded({"type": "integer"}, shape.min_value, shape.max_value)
            case Number():
                return _bounded({"type": "number"}, shape.min_value, shape.max_value)
            case Boolean():
                return {"type": "boolean"}
            case NumberedChoice():
                names = {"type": "string", "enum": list(shape.choices)}
                return {"oneOf": [names, {"type": "integer", "minimum": 0, "maximum": len(shape.choices) - 1}]}
            case Choice():
                return {"type": "string", "enum": list(shape.choices)}
            case JsonObject():
                return dict(JSON_OBJECT)
            case ObjectOrText():
                return {"type": ["object", "string"]}
            case JsonValue():
                return dict(JSON_NOT_NULL)
            case ListOf():
                schema = {"type": "array", "items": self.of(shape.item)}
                return schema if shape.max_items is None else {**schema, "maxItems": shape.max_items}
            case Record():
                return self._record(shape)
        raise TypeError(f"No JSON Schema for {shape!r}")

    def _record(self, record: Record) -> Schema:
        if record.name not in self.components:
            self.components[record.name] = {}  # a placeholder: a record may (one day) contain itself
            schema: Schema = {
                "type": "object",
                "properties": {field.name: self._field(field) for field in record.fields},
                "required": [field.name for field in record.fields if field.required],
            }
            if record.other_keys == "refuse":
                schema["additionalProperties"] = False
            if record.doc:
                schema["description"] = record.doc
            self.components[record.name] = schema
        return ref(record.name)

    def _field(self, field: Field) -> Schema:
        schema = self.of(field.shape)
        if field.nullable:
            schema = nullable(schema)
        extra: Schema = {}
        if field.default is not MISSING:
            extra["default"] = field.default
        if field.doc:
            extra["description"] = field.doc
        if not extra:
            return schema
        return {**schema, **extra} if "$ref" not in schema else {"allOf": [schema], **extra}


def _bounded(schema: Schema, minimum: float | None, maximum: float | None) -> Schema:
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema
