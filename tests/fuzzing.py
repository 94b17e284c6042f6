"""What every surface's schema-fuzz module shares: the checks, the number of examples (``FUZZ_EXAMPLES`` raises
it for ``make fuzz``), Hypothesis' settings, and keeping the test's database connection across WSGI calls."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

# What the issue asks every surface to hold: no 5xx, responses in their schema, documented statuses and media
# types, and invalid requests refused.
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.negative_data_rejection,
]


def examples(default: int) -> int:
    """Examples per operation: ``default`` in the test suite (seconds per module), ``FUZZ_EXAMPLES`` when set."""
    return int(os.environ.get("FUZZ_EXAMPLES") or default)


def fuzz_settings(default_examples: int):
    return settings(
        max_examples=examples(default_examples),
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@contextmanager
def connection_kept() -> Iterator[None]:
    """Around the fuzzer's WSGI calls, as Django's own test client does around each of its requests (which is why
    this cannot be a fixture: a test client request in between connects the handlers again). A real request
    closes the connection, and so rolls back the test's transaction, when it starts and ends."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
