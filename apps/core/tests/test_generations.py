"""Generation-keyed reads in the shared cache: a hit costs no query, a writer's bump is seen at once by
every reader, and a value computed from rows older than the writer's commit is never served after it."""

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.core.generations import Generation


def test_a_value_is_computed_once_until_the_generation_is_bumped():
    family = Generation("test-family")
    calls = []
    assert family.get(lambda: calls.append(1) or "first", key="k") == "first"
    assert family.get(lambda: calls.append(1) or "second", key="k") == "first"
    family.bump()
    assert family.get(lambda: calls.append(1) or "third", key="k") == "third"
    assert len(calls) == 2


def test_scopes_are_invalidated_apart():
    family = Generation("test-scoped")
    family.get(lambda: "a", scope="app_a")
    family.get(lambda: "b", scope="app_b")
    family.bump(scope="app_a")
    assert family.get(lambda: "a2", scope="app_a") == "a2"
    assert family.get(lambda: "b2", scope="app_b") == "b"


def test_a_lost_token_never_revives_an_old_value():
    family = Generation("test-evicted")
    family.get(lambda: "old")
    cache.delete("gen:test-evicted:-")  # evicted, or a flushed Redis
    assert family.get(lambda: "new") == "new"


@pytest.mark.django_db(transaction=True)
def test_a_reader_racing_a_writer_cannot_leave_its_stale_value_valid_after_the_commit():
    family = Generation("test-race")
    with transaction.atomic():
        family.bump()  # the writer changes the rows and bumps (again at commit)
        # a reader that read the rows before the commit stores what it saw under the current token
        assert family.get(lambda: "stale") == "stale"
    assert family.get(lambda: "fresh") == "fresh"
