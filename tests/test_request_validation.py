"""``apps.api.shared.validation.validated``: an empty input's answer is worked out once per serializer and
handed out as a fresh copy; a serializer that refuses an empty input refuses it every time."""

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.api.shared.validation import validated


class _Optional(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=20)
    tags = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class _Required(serializers.Serializer):
    name = serializers.CharField()


def test_an_empty_input_gives_the_defaults_as_a_fresh_copy_each_time():
    first = validated(_Optional, {})
    first["tags"].append("mutated by a caller")
    first["limit"] = 99
    assert validated(_Optional, {}) == {"limit": 20, "tags": []}
    assert validated(_Optional, {"limit": "5"}) == {"limit": 5, "tags": []}


def test_a_serializer_that_needs_fields_refuses_an_empty_input_every_time():
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            validated(_Required, {})
        assert "name" in refused.value.detail
