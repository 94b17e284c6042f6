"""The chaos scenarios (tests/chaos/scenarios.py) as tests: the fast variants run in the suite's ``live`` part;
``CHAOS_FULL=1`` (``make chaos``) runs the full ones instead. Each prints its criteria and figures."""

import os

import pytest

from tests.chaos import scenarios

pytestmark = [pytest.mark.live, pytest.mark.chaos]

FULL = os.environ.get("CHAOS_FULL") == "1"


@pytest.mark.parametrize(
    "name", ["worker-kill", "worker-child-kill", "visibility-overrun", "concurrent-writers", "proactive-day"]
)
def test_the_scenario_holds(name):
    result = scenarios.SCENARIOS[name](full=FULL)
    result.print()
    assert result.passed, result.text()
