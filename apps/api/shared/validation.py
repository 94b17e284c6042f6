"""Validating a request's body or query string against a DRF serializer, the same way on every surface."""

import copy

from django.http import QueryDict
from rest_framework import serializers

from apps.core.errors import ValidationFailed


def validated(serializer_class, data) -> dict:
    """``data`` checked by ``serializer_class``; DRF's ValidationError (each surface renders it) otherwise."""
    if isinstance(data, QueryDict):
        # DRF reads a QueryDict the way it reads an HTML form, where an empty value (``?limit=``) means "not
        # given"; an API call that sends an empty value has sent an invalid one.
        data = data.dict()
    if not data:
        # Most requests send no query string: what a serializer makes of nothing never changes, and building
        # one (DRF deep-copies its declared fields per instance) is a visible share of a cheap request.
        empty = _EMPTY_VALIDATED.get(serializer_class)
        if empty is None:
            empty = _EMPTY_VALIDATED[serializer_class] = _run(serializer_class, data)
        return copy.deepcopy(empty)
    return _run(serializer_class, data)


_EMPTY_VALIDATED: dict[type, dict] = {}  # serializer class -> its validated data for an empty input
# Serializer class -> instances free for another request. DRF deep-copies a serializer's declared fields into
# every instance, its nested serializers' too, which costs more than validating a small body; an instance
# that has validated keeps no state but its input and outcome, reset before it is used again. Taken with
# list.pop and given back with list.append (atomic under the GIL), so no two threads share one.
_IDLE: dict[type, list] = {}
_IDLE_KEPT = 8  # per class: about the threads that validate at once


def _run(serializer_class, data) -> dict:
    idle = _IDLE.setdefault(serializer_class, [])
    try:
        serializer = idle.pop()
    except IndexError:
        serializer = serializer_class(data=data)
    else:
        serializer.initial_data = data
    try:
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
    finally:
        for name in ("_validated_data", "_errors", "_data", "initial_data"):
            serializer.__dict__.pop(name, None)
        if len(idle) < _IDLE_KEPT:
            idle.append(serializer)


def json_object(data) -> dict:
    """The request body, which must be a JSON object (DRF parses ``[]`` and ``"x"`` too)."""
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["Must be a JSON object."]})
    return data


def optional_json_object(data) -> dict:
    """An optional body: none at all (DRF gives an empty form) and ``null`` are ``{}``; anything else must be a
    JSON object (``false`` or ``[]`` is a mistake, not an absence)."""
    if data is None or (isinstance(data, QueryDict) and not data):
        return {}
    return json_object(data)


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings: DRF's own turns ``7`` or ``true`` into text, so a client's
    type mistake would pass unnoticed."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A FloatField that takes only JSON numbers: DRF's own reads ``"0.5"`` as 0.5, and booleans as 1 and 0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


IDEMPOTENCY_KEY_MAX_LENGTH = 255  # conversations' IdempotencyRecord.key


def idempotency_key(request) -> str | None:
    """The request's ``Idempotency-Key`` header (None without one); an overlong key is a validation error."""
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationFailed({"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters (a UUID fits)."]})
    return key
