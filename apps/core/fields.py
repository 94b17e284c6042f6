"""Serializer fields shared by every app that validates API input.

DRF's fields coerce: ``123`` becomes ``"123"``, ``"0.5"`` and ``false`` become floats, ``"yes"`` becomes
``True``. A client sending the wrong type should hear about it, and the OpenAPI schema (generated from these
fields) must describe exactly what is accepted, so JSON bodies use the strict fields below. Query strings
are text by nature and keep DRF's parsing fields.
"""

from django.core.validators import RegexValidator
from rest_framework import serializers

# "Has a character that is not white space", spelled so that Python's ``re`` (the validator) and ECMA-262
# (the OpenAPI pattern clients and fuzzers read) agree: they differ on U+001C-U+001F, U+0085 and U+FEFF.
NOT_BLANK = RegexValidator(r"[^\s\u001c-\u001f\u0085\ufeff]", "This field may not be blank.", code="blank")


class StrictCharField(serializers.CharField):
    """A CharField that takes the string exactly as sent: no numbers or booleans turned into text, and no
    silent trimming (which would let lengths and patterns disagree with the schema). Unless ``allow_blank``,
    the text must contain a non-whitespace character (documented as the pattern ``\\S``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        has_pattern = any(isinstance(validator, RegexValidator) for validator in self.validators)
        if not self.allow_blank and not has_pattern:
            self.validators.append(NOT_BLANK)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses strings and booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A FloatField that refuses strings and booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that accepts only ``true`` and ``false`` (not ``"yes"``, ``1`` or ``"on"``)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
