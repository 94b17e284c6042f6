"""Fixtures of the native surface's contract tests."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from apps.api.native.tests.contract import quota_counters, row_counts


@pytest.fixture
def nothing_written(db, django_capture_on_commit_callbacks, announced):
    """Wrap a failing request: no rows, no quota use, no commit callbacks and no announced events."""

    @contextmanager
    def check() -> Iterator[None]:
        before, counters_before, announced_before = row_counts(), quota_counters(), len(announced)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield
        assert row_counts() == before
        assert quota_counters() == counters_before
        assert callbacks == []
        assert len(announced) == announced_before

    return check
