"""Fixtures of the chaos suite: ``chaos_stack`` starts ``ChaosStack``s (stopped after the test), and every
chaos test is skipped on the embedded default, which has no broker, workers or beat to break."""

import os
from collections.abc import Callable, Iterator

import pytest

from tests.chaos.harness import ChaosStack

PRODUCTION_STACK = bool(os.environ.get("REDIS_URL")) and os.environ.get("DATABASE_URL", "").startswith("postgres")


def pytest_collection_modifyitems(config, items) -> None:
    skip = pytest.mark.skip(reason="the chaos suite needs the production stack: set DATABASE_URL (PostgreSQL) and "
                            "REDIS_URL")  # fmt: skip
    for item in items:
        if item.get_closest_marker("chaos") and not PRODUCTION_STACK:
            item.add_marker(skip)


@pytest.fixture
def chaos_stack() -> Iterator[Callable[..., ChaosStack]]:
    """``chaos_stack(llm=..., workers=2, beats=1, env={...})``: a started stack, stopped after the test."""
    stacks: list[ChaosStack] = []

    def start(**kwargs) -> ChaosStack:
        stack = ChaosStack(**kwargs)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in reversed(stacks):
        stack.stop()
