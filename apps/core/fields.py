"""Serializer fields shared by every app that validates API input."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text.

    DRF's CharField accepts ``123`` as ``"123"``; a client sending the wrong type should hear about it.
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
