"""molroo's published SDK (``@molroo-io/sdk`` 0.7.2, pinned in ``tests/molroo_sdk``) against the running system
over real HTTP: ``new Molroo({baseUrl: "<server>/emotion/v1", apiKey})`` and nothing else changed.

One node process runs every scenario of ``tests/molroo_sdk/scenarios.js`` and prints their outcomes as JSON;
each test here checks one scenario. ``.ci/run`` installs the SDK (``npm ci``) when ``node_modules`` is missing.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from apps.accounts import services as accounts_services
from tests.live import live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SDK_DIR = Path(__file__).parent / "molroo_sdk"
LIVE_ENV = {"EMOTION_APPRAISER": "lexicon"}


@pytest.fixture(scope="module")
def outcomes(live_stack, django_db_blocker):  # noqa: F811
    if shutil.which("node") is None or not (SDK_DIR / "node_modules" / "@molroo-io" / "sdk").is_dir():
        pytest.skip("node and the pinned SDK are needed: cd tests/molroo_sdk && npm ci")
    with django_db_blocker.unblock():
        key = accounts_services.api_key_create(app=accounts_services.app_create(name="molroo sdk"), name="k").raw_key
        other = accounts_services.api_key_create(app=accounts_services.app_create(name="stranger"), name="k").raw_key
    env = {
        **os.environ,
        "MOLROO_BASE_URL": f"{live_stack.base_url}/emotion/v1",
        "MOLROO_API_KEY": key,
        "MOLROO_OTHER_API_KEY": other,
    }
    done = subprocess.run(
        ["node", "scenarios.js"], cwd=SDK_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr + live_stack.logs()
    return json.loads(done.stdout)


def scenario(outcomes, name: str) -> dict:
    outcome = outcomes[name]
    assert outcome["ok"], outcome
    return outcome


def test_persona_lifecycle(outcomes):
    lifecycle = scenario(outcomes, "persona_lifecycle")
    assert lifecycle["connected"] == lifecycle["id"] and lifecycle["id"] in lifecycle["listed"]
    assert lifecycle["role"] == "owner"


def test_praise_raises_valence_and_an_insult_lowers_it(outcomes):
    perceived = scenario(outcomes, "perceive")
    assert perceived["praised"] > perceived["baseline"] and perceived["insulted"] < perceived["praised"]
    assert perceived["episode"]["content"] == "Your latte art is wonderful"
    assert perceived["social"][0]["entityId"] == "Mina" and perceived["social"][0]["delta"] < 0
    assert perceived["lexiconSource"] == "lexicon"


def test_prior_episodes_stimulus_and_goal_changes_through_the_sdk(outcomes):
    extras = scenario(outcomes, "perceive_extras")
    assert extras["recurrence"] > 0.8 and extras["familiarV"] < extras["firstV"]  # recalled praise moves less
    assert extras["stimulatedSource"] == "lexicon" and extras["stimulatedCongruence"] > 0
    assert extras["goalChanges"] == {"achieved": ["g1"]}  # the SDK emits goal_changed from this
    assert set(extras["reflectionPrompt"]) == {"system", "user"}


def test_memory_search_finds_the_episode(outcomes):
    assert scenario(outcomes, "memory_search")["contents"][0] == "Your latte art is wonderful"


def test_an_hours_tick_moves_back_toward_baseline(outcomes):
    ticked = scenario(outcomes, "tick")
    assert ticked["before"]["V"] == -0.7
    assert ticked["before"]["V"] < ticked["after"]["V"] and ticked["after"]["A"] < ticked["before"]["A"]
    assert isinstance(ticked["pendingEvents"], list)
    for field in ("velocity", "emotion_history", "body_budget", "soul_stage", "need_state"):
        assert field in ticked["state"]


def test_snapshot_round_trip(outcomes):
    assert scenario(outcomes, "snapshot") == {"ok": True, "changed": True, "restored": True}


def test_prompt_context(outcomes):
    prompt = scenario(outcomes, "prompt_context")["systemPrompt"]
    assert "Sera" in prompt and "keep regulars happy" in prompt and prompt.endswith("Answer in one sentence.")


def test_errors_reach_the_sdk_as_molroo_errors(outcomes):
    errors = scenario(outcomes, "persona_errors")
    assert errors["badKey"]["status"] == 401 and errors["badKey"]["code"] == "UNAUTHORIZED"
    assert errors["otherTenant"]["status"] == 404 and errors["otherTenant"]["code"] == "NOT_FOUND"
    assert errors["badAppraisal"]["status"] == 400 and errors["badAppraisal"]["code"] == "VALIDATION_ERROR"
    assert errors["deleted"]["status"] == 404 and errors["deleted"]["code"] == "NOT_FOUND"
    assert errors["restoredV"] > -1


def test_a_two_persona_world(outcomes):
    setup = scenario(outcomes, "world_setup")
    assert setup["description"] == "a small cafe by the river" and setup["listed"]
    assert setup["members"] == ["Sera", "Mina"] and setup["minaName"] == "Mina"


def test_a_custom_action_and_a_relationship(outcomes):
    world = scenario(outcomes, "world_actions_relationships")
    assert world["custom"] == ["serve_latte"] and world["defaults"] >= 5
    assert len(world["relationships"]) == 1 and world["relationships"][0][2:] == ["friend", 0.9]


def test_an_interaction_changes_the_target(outcomes):
    done = scenario(outcomes, "world_interact")
    assert done["served"] > done["before"] and done["servedDelta"] > 0
    assert done["insultedDelta"] < 0 and len(done["witnesses"]) == 1  # response rule "all": Mina saw it
    assert "Scene: Cafe." in done["prompt"] and "Mina" in done["prompt"]
    assert isinstance(done["pendingEvents"], list)
    assert done["events"] == ["persona_added", "persona_added", "interaction", "interaction", "interaction"]
    assert done["nextCursor"] is None
    assert done["unknown"]["status"] == 400 and done["unknown"]["code"] == "VALIDATION_ERROR"


def test_world_errors(outcomes):
    errors = scenario(outcomes, "world_errors_and_cleanup")
    assert errors["otherWorld"]["status"] == 404 and errors["foreignMember"]["status"] == 404
    assert errors["remaining"] == 1 and errors["gone"]["status"] == 404
