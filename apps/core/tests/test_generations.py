"""Generation-keyed reads in the shared cache: a hit costs no query, a writer's bump is seen at once by
every reader, and a value computed from rows older than the writer's commit is never served after it."""

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.core.generations import Generation, generations_read_ahead


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


def test_reads_named_ahead_answer_from_one_fetch_made_at_the_start_of_the_block():
    scenarios, catalog = Generation("test-ahead-a"), Generation("test-ahead-b")
    scenarios.get(lambda: "scenario v1", scope="npc", key="m1")
    catalog.get(lambda: "catalog v1")
    with generations_read_ahead(scenarios.read(scope="npc", key="m1"), catalog.read()):
        # Another process changes the cached value after the fetch: the block answers with what it fetched,
        # which proves no second round trip was made for it.
        token = cache.get("gen:test-ahead-b:-")
        cache.set("gen:test-ahead-b:-:v:-", (token, "catalog v2"))
        assert scenarios.get(lambda: "recomputed", scope="npc", key="m1") == "scenario v1"
        assert catalog.get(lambda: "recomputed") == "catalog v1"
    assert catalog.get(lambda: "recomputed") == "catalog v2"  # outside the block: the cache as it is


def test_a_read_ahead_miss_computes_once_and_a_bump_inside_the_block_is_seen():
    family = Generation("test-ahead-miss")
    calls = []
    with generations_read_ahead(family.read(key="k")):
        assert family.get(lambda: calls.append(1) or "first", key="k") == "first"
        assert family.get(lambda: calls.append(1) or "again", key="k") == "first"  # stored, not recomputed
        family.bump()
        assert family.get(lambda: calls.append(1) or "after bump", key="k") == "after bump"
    assert len(calls) == 2
    assert family.get(lambda: "outside", key="k") == "after bump"  # what the block computed was stored
