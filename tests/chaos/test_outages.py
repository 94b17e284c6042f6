"""The outage scenarios (tests/chaos/outage_scenarios.py) as tests, on private PostgreSQL and Redis servers: the
fast variants run in the suite's ``live`` part; ``CHAOS_FULL=1`` (``make chaos``) runs the full ones. Each prints
its pass criteria and figures."""

import os

import pytest

from tests.chaos.outage_scenarios import OUTAGE_SCENARIOS

pytestmark = [pytest.mark.live, pytest.mark.chaos]

FULL = os.environ.get("CHAOS_FULL") == "1"


@pytest.mark.parametrize("name", list(OUTAGE_SCENARIOS))
def test_the_outage_scenario_holds(name):
    result = OUTAGE_SCENARIOS[name](full=FULL)
    result.print()
    assert result.passed, result.text()
