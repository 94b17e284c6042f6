"""The guard on an NPC turn's cost: exact SQL statement counts (transaction control included), with the
shared cache warm the way production has it, and real transactions.

A turn reads the player's playthrough (with its NPC's character and version, machine and state, in one
query), the session and its history; the machine's graph and state rows come from the shared cache
(``npcs.selectors.SCENARIOS``); then one transaction writes the turn. Before the cache a turn read the graph
(three queries) three times, the reply's state, the output variables, the step's new state, and the NPC's
character and version lazily: ``BEFORE_CACHE`` keeps those counts (main at 48b1141) for comparison.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.conversations import services
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db(transaction=True)

# The playthrough, the session, the history; BEGIN, the step's compare-and-set UPDATE of the playthrough, the
# usage INSERT, the cursor UPDATE, the events INSERT, COMMIT. (The step runs without a savepoint of its own: the
# turn's transaction rolls back whole on any error. With one, and a locked read before the UPDATE, it took 12.)
MATCHER_TURN = 9
MODEL_TURN = 9  # the evaluation's usage row rides in the same INSERT as the reply's
BEFORE_CACHE = {"matcher": 28, "model": 30}
GRAPH_READ = 4  # a cold machine: its states, transitions, links and output variables


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.API_KEY_CACHE_SECONDS = 5


@pytest.fixture
def npc(owner):
    app = owner.api_key.app
    npc = npcs_services.npc_save(app=app, body=scenario_body())
    services.npc_session_start(app=app, npc_id=npc.id, player_session_id="p1", player_name="Ada", player_gender="")
    services.npc_message_send(app=app, npc_id=npc.id, player_session_id="p1", text="weather")  # warms the cache
    return npc


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return ["BEGIN" if query["sql"] == "BEGIN IMMEDIATE" else query["sql"] for query in captured.captured_queries]


def _show(statements: list[str]) -> str:
    return "\n".join(f"{index + 1:>3}  {sql[:160]}" for index, sql in enumerate(statements))


def _turn(owner, npc, text: str):
    with CaptureQueriesContext(connection) as captured:
        turn = services.npc_message_send(app=owner.api_key.app, npc_id=npc.id, player_session_id="p1", text=text)
    return turn, _statements(captured)


def test_a_matcher_decided_turn_that_moves_the_player_takes_nine_statements(owner, npc):
    turn, statements = _turn(owner, npc, "hello")

    assert (turn.evaluation.source, turn.step.playthrough.current_state.key) == ("matcher", "trust")
    assert len(statements) == MATCHER_TURN < BEFORE_CACHE["matcher"], _show(statements)
    assert statements.count("BEGIN") == 1 and statements[-1] == "COMMIT"
    scenario_reads = ('FROM "npcs_state"', 'FROM "npcs_transition"', 'FROM "npcs_machinelink"')
    assert not any(table in sql for sql in statements for table in scenario_reads), _show(statements)


def test_a_model_evaluated_turn_takes_the_same_ten(owner, npc):
    turn, statements = _turn(owner, npc, "What a lovely gate")

    assert (turn.evaluation.source, turn.model_calls) == ("fallback", 2)
    assert len(statements) == MODEL_TURN < BEFORE_CACHE["model"], _show(statements)
    assert statements.count("BEGIN") == 1 and statements[-1] == "COMMIT"


def test_after_a_scenario_save_the_next_turn_reads_the_graph_once_and_then_the_cache_again(owner, npc):
    body = scenario_body()
    body["machines"][0]["transitions"][1]["matchers"][0]["keywords"] = ["rain"]
    npcs_services.npc_save(app=owner.api_key.app, body=body, npc_id=npc.id)

    turn, statements = _turn(owner, npc, "rain again")
    assert turn.evaluation.source == "matcher" and turn.step.result.decision == "redirect"
    assert len(statements) == MATCHER_TURN + GRAPH_READ, _show(statements)
    turn, statements = _turn(owner, npc, "rain again")
    assert len(statements) == MATCHER_TURN, _show(statements)


def test_the_message_route_adds_nothing_with_the_key_cache_warm(owner, npc):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=owner.raw_key)
    url = f"/npc/api/v1/sdk/chat/{npc.id}/message"
    assert client.post(url, {"message": "weather", "user_session_id": "p1"}, format="json").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"message": "hello", "user_session_id": "p1"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["current_state"] == "trust"
    statements = _statements(captured)
    assert len(statements) == MATCHER_TURN, _show(statements)
