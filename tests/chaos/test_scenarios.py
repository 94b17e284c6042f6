"""The chaos scenarios (tests/chaos/scenarios.py) as tests: the fast variants run in the suite's ``live`` part;
``CHAOS_FULL=1`` (``make chaos``) runs the full ones instead. Each prints its criteria and figures."""

import os

import pytest

from tests.chaos import scenarios

pytestmark = [pytest.mark.live, pytest.mark.chaos]

FULL = os.environ.get("CHAOS_FULL") == "1"


# The Procfile's worker runs a thread pool, so a prefork pool child exists only for operators who switch to
# prefork: that scenario runs in the full suite only, which keeps the README's test command within its time.
PREFORK_ONLY_IN_FULL = pytest.mark.skipif(not FULL, reason="prefork is not the Procfile's pool: make chaos runs it")


@pytest.mark.parametrize(
    "name",
    [
        "worker-kill",
        pytest.param("worker-child-kill", marks=PREFORK_ONLY_IN_FULL),
        "visibility-overrun",
        "concurrent-writers",
        "proactive-day",
    ],
)
def test_the_scenario_holds(name):
    result = scenarios.SCENARIOS[name](full=FULL)
    result.print()
    assert result.passed, result.text()
