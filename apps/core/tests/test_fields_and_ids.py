import re

import pytest
from rest_framework import serializers

from apps.core.fields import StrictCharField
from apps.core.ids import new_id


class _Input(serializers.Serializer):
    name = StrictCharField(max_length=5)


@pytest.mark.parametrize("value", [123, 1.5, True, ["a"], {"a": 1}, None])
def test_strict_char_field_refuses_non_strings(value):
    serializer = _Input(data={"name": value})
    assert not serializer.is_valid()
    assert list(serializer.errors) == ["name"]


def test_strict_char_field_keeps_char_field_rules():
    assert _Input(data={"name": " ab "}).is_valid()
    assert not _Input(data={"name": "toolong"}).is_valid()
    assert not _Input(data={"name": "a\x00"}).is_valid()


def test_ids_are_prefixed_and_random():
    ids = {new_id("sess") for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"sess_[0-9a-hjkmnp-tv-z]{24}", value) for value in ids)
