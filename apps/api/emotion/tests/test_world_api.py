"""The world API of molroo's SDK 0.7 on ``/emotion/v1/worlds``: contract tests through the test client (the SDK
itself drives it over HTTP in ``tests/test_live_molroo_sdk.py``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.emotion.tests.conftest import assert_error, row_snapshot
from apps.api.emotion.tests.test_persona_api import CONFIG, INSULT, PRAISE, sdk  # noqa: F401  (fixture)
from apps.personas.models import PersonaSession, World, WorldAction, WorldEvent, WorldMember, WorldRelationship

pytestmark = pytest.mark.django_db

WIRE_GIFT = {**PRAISE, "goal_congruence": 1.0}


def world_rows():
    return [
        row_snapshot(),
        list(World.objects.values_list("pk", "name", "deleted_at")),
        list(WorldMember.objects.values_list("pk")),
        list(WorldAction.objects.values_list("pk")),
        list(WorldRelationship.objects.values_list("pk", "trust", "strength")),
        WorldEvent.objects.count(),
        PersonaSession.objects.count(),
    ]


@pytest.fixture
def scene(sdk):  # noqa: F811
    world = sdk.post("/emotion/v1/worlds", {"name": "Cafe", "response_rule": "all"}, format="json")
    assert world.status_code == 201, world.content
    world_id = world.json()["result"]["id"]
    sera = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    by_ref = sdk.post(f"/emotion/v1/worlds/{world_id}/personas", {"persona_id": sera}, format="json")
    assert by_ref.status_code == 201, by_ref.content
    inline = {
        "persona_config_id": "mina-v1",
        "display_name": "Mina",
        "config": {**CONFIG, "identity": {"name": "Mina"}},
    }
    by_config = sdk.post(f"/emotion/v1/worlds/{world_id}/personas", inline, format="json")
    assert by_config.status_code == 201, by_config.content
    return world_id, by_ref.json()["result"]["id"], by_config.json()["result"]["id"]


def test_world_crud_and_list(sdk):  # noqa: F811
    created = sdk.post("/emotion/v1/worlds", {"name": "Cafe", "description": "by the river"}, format="json")
    world = created.json()["result"]
    assert world["access_policy"] == "closed" and world["response_rule"] == "target"
    patched = sdk.patch(f"/emotion/v1/worlds/{world['id']}", {"response_rule": "ai"}, format="json").json()["result"]
    assert patched["response_rule"] == "ai" and patched["name"] == "Cafe"
    listed = sdk.get("/emotion/v1/worlds?limit=1").json()["result"]
    assert [w["id"] for w in listed["worlds"]] == [world["id"]] and listed["nextCursor"] is None
    assert sdk.delete(f"/emotion/v1/worlds/{world['id']}").status_code == 200
    assert_error(sdk.get(f"/emotion/v1/worlds/{world['id']}"), 404, "NOT_FOUND")


def test_members_actions_relationships(sdk, scene):  # noqa: F811
    world_id, sera, mina = scene
    members = sdk.get(f"/emotion/v1/worlds/{world_id}/personas").json()["result"]["personas"]
    assert [m["id"] for m in members] == [sera, mina] and members[1]["display_name"] == "Mina"
    detail = sdk.get(f"/emotion/v1/worlds/{world_id}/personas/{mina}").json()["result"]
    assert detail["config"]["identity"]["name"] == "Mina" and "vad" in detail["state"]["emotion"]

    action = sdk.post(
        f"/emotion/v1/worlds/{world_id}/actions",
        {"name": "serve_latte", "description": "Serve a perfect latte", "appraisal_vector": WIRE_GIFT},
        format="json",
    )
    assert action.status_code == 201, action.content
    actions = sdk.get(f"/emotion/v1/worlds/{world_id}/actions").json()["result"]["actions"]
    names = {a["name"]: a for a in actions}
    assert names["serve_latte"]["is_default"] is False and names["insult"]["is_default"] is True

    rel = {
        "source_type": "persona",
        "source_id": sera,
        "target_type": "persona",
        "target_id": mina,
        "relationship_type": "friend",
        "strength": 0.8,
        "trust": 0.9,
    }
    put = sdk.put(f"/emotion/v1/worlds/{world_id}/relationships", rel, format="json")
    assert put.status_code == 200, put.content
    again = sdk.put(f"/emotion/v1/worlds/{world_id}/relationships", {**rel, "trust": 0.7}, format="json")
    assert again.json()["result"]["id"] == put.json()["result"]["id"]  # an upsert
    listed = sdk.get(f"/emotion/v1/worlds/{world_id}/relationships").json()["result"]["relationships"]
    assert len(listed) == 1 and listed[0]["trust"] == 0.7

    prompt = sdk.post(f"/emotion/v1/worlds/{world_id}/personas/{sera}/prompt-context", {}, format="json")
    text = prompt.json()["result"]["systemPrompt"]
    assert "Scene: Cafe." in text and "Mina" in text and "friend" in text

    rid = listed[0]["id"]
    assert sdk.delete(f"/emotion/v1/worlds/{world_id}/relationships/{rid}").status_code == 200
    assert sdk.delete(f"/emotion/v1/worlds/{world_id}/actions/{action.json()['result']['id']}").status_code == 200
    assert sdk.delete(f"/emotion/v1/worlds/{world_id}/personas/{mina}").status_code == 200
    assert len(sdk.get(f"/emotion/v1/worlds/{world_id}/personas").json()["result"]["personas"]) == 1


def test_interact_moves_the_target_updates_the_relationship_and_witnesses_react(sdk, scene):  # noqa: F811
    world_id, sera, mina = scene
    sdk.post(
        f"/emotion/v1/worlds/{world_id}/actions",
        {"name": "serve_latte", "appraisal_vector": WIRE_GIFT},
        format="json",
    )
    before = sdk.get(f"/emotion/v1/worlds/{world_id}/personas/{mina}").json()["result"]["state"]["emotion"]["vad"]
    body = {"target_persona_id": mina, "action_name": "serve_latte", "actor_id": sera, "actor_type": "persona"}
    response = sdk.post(f"/emotion/v1/worlds/{world_id}/interact", body, format="json")
    assert response.status_code == 200, response.content
    outcome = response.json()["result"]
    assert outcome["emotion"]["vad"]["V"] > before["V"] and outcome["emotion"]["delta"]["V"] > 0
    assert outcome["relationship"]["source_id"] == mina and outcome["relationship"]["target_id"] == sera
    assert outcome["reactions"] == []  # the actor is the only other member
    insult = {"target_persona_id": sera, "action_name": "insult", "actor_id": "yongjun"}
    insulted = sdk.post(f"/emotion/v1/worlds/{world_id}/interact", insult, format="json").json()["result"]
    assert insulted["emotion"]["delta"]["V"] < 0
    assert [r["persona"] for r in insulted["reactions"]] == [mina]  # response rule "all": Mina saw it
    stimulus = {"target_persona_id": sera, "stimulus_description": "Thank you so much!", "actor_id": "yongjun"}
    assert sdk.post(f"/emotion/v1/worlds/{world_id}/interact", stimulus, format="json").status_code == 200

    page = sdk.get(f"/emotion/v1/worlds/{world_id}/events?limit=3").json()["result"]
    types = [e["type"] for e in page["events"]]
    assert types == ["persona_added", "persona_added", "interaction"] and page["nextCursor"]
    rest = sdk.get(f"/emotion/v1/worlds/{world_id}/events?cursor={page['nextCursor']}").json()["result"]
    assert [e["type"] for e in rest["events"]] == ["interaction", "interaction"] and rest["nextCursor"] is None


def test_member_tick(sdk, scene):  # noqa: F811
    world_id, sera, _ = scene
    sdk.post(
        f"/emotion/v1/worlds/{world_id}/interact", {"target_persona_id": sera, "action_name": "threaten"}, format="json"
    )
    ticked = sdk.post(f"/emotion/v1/worlds/{world_id}/personas/{sera}/tick", {"seconds": 3600}, format="json")
    assert ticked.status_code == 200 and isinstance(ticked.json()["result"]["pendingEvents"], list)


# Errors: nothing written.


def test_unknown_action_and_bad_vector_write_nothing(sdk, scene, nothing_written):  # noqa: F811
    world_id, sera, mina = scene
    before = world_rows()
    with nothing_written():
        unknown = {"target_persona_id": mina, "action_name": "teleport", "actor_id": sera, "actor_type": "persona"}
        assert_error(
            sdk.post(f"/emotion/v1/worlds/{world_id}/interact", unknown, format="json"), 400, "VALIDATION_ERROR"
        )
        bad = {"target_persona_id": mina, "appraisal_vector": {**PRAISE, "agency": 5}}
        assert_error(sdk.post(f"/emotion/v1/worlds/{world_id}/interact", bad, format="json"), 400, "VALIDATION_ERROR")
        nobody = {"target_persona_id": "ses_nobody", "action_name": "greet"}
        assert_error(sdk.post(f"/emotion/v1/worlds/{world_id}/interact", nobody, format="json"), 404, "NOT_FOUND")
        bad_action = {"name": "x", "appraisal_vector": {**PRAISE, "goal_relevance": "high"}}
        assert_error(
            sdk.post(f"/emotion/v1/worlds/{world_id}/actions", bad_action, format="json"), 400, "VALIDATION_ERROR"
        )
        rel = {"source_type": "persona", "source_id": "ses_elsewhere", "target_type": "user", "target_id": "u"}
        assert_error(sdk.put(f"/emotion/v1/worlds/{world_id}/relationships", rel, format="json"), 404, "NOT_FOUND")
    assert world_rows() == before


def test_another_tenants_world_and_persona_are_404(sdk, other_api, scene, nothing_written):  # noqa: F811
    world_id, sera, mina = scene
    stranger = other_api.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    before = world_rows()
    with nothing_written():
        assert_error(other_api.get(f"/emotion/v1/worlds/{world_id}"), 404, "NOT_FOUND")
        body = {"target_persona_id": mina, "action_name": "greet"}
        assert_error(other_api.post(f"/emotion/v1/worlds/{world_id}/interact", body, format="json"), 404, "NOT_FOUND")
        add = sdk.post(f"/emotion/v1/worlds/{world_id}/personas", {"persona_id": stranger}, format="json")
        assert_error(add, 404, "NOT_FOUND")  # a member from another tenant
    assert world_rows() == before


# What an interaction costs (a guard, not a timing), response rule "target": its transaction (BEGIN, COMMIT);
# the world, the target member with its persona, the world's custom action of that name, the persona's
# relationship with the actor; the persona's conditional UPDATE and its relationship row (one statement on
# PostgreSQL, a data-modifying CTE; two on SQLite); the world relationship read and its UPDATE; the event INSERT.
INTERACT_STATEMENTS = {"postgresql": 10, "sqlite": 11}


def test_interact_statement_count(sdk, scene, settings):  # noqa: F811
    settings.API_KEY_CACHE_SECONDS = 5
    world_id, sera, mina = scene
    World.objects.filter(pk=world_id).update(response_rule="target")
    body = {"target_persona_id": mina, "action_name": "greet", "actor_id": "u1"}
    assert sdk.post(f"/emotion/v1/worlds/{world_id}/interact", body, format="json").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = sdk.post(f"/emotion/v1/worlds/{world_id}/interact", body, format="json")
    assert response.status_code == 200, response.content
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == INTERACT_STATEMENTS[connection.vendor], "\n".join(sql[:160] for sql in statements)
