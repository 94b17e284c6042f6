"""Exact SQL statement counts of molroo's ``POST /emotion/v1/turn``: a guard, not a timing (see the native
turn's counterpart in ``apps/conversations/tests/test_statement_counts.py``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.delivery.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

# The session's row, then the turn's transaction: BEGIN, the UPDATE conditioned on the turn count, COMMIT.
EMOTION_TURN = 4


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.EMOTION_APPRAISER = "lexicon"
    settings.API_KEY_CACHE_SECONDS = 5


def test_an_emotion_turn_reads_the_session_once_and_writes_it_once(api, persona):
    body = {"sessionId": persona, "message": "Thank you, that helped a lot."}
    assert api.post("/emotion/v1/turn", body, format="json").status_code == 200  # warms the key cache
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/emotion/v1/turn", body, format="json")
    assert response.status_code == 200, response.content
    statements = [query["sql"].replace("BEGIN IMMEDIATE", "BEGIN") for query in captured.captured_queries]
    assert len(statements) == EMOTION_TURN, "\n".join(sql[:160] for sql in statements)
    assert statements[1] == "BEGIN" and statements[-1] == "COMMIT"


def test_turns_that_announce_webhook_events_cost_no_more_when_the_session_has_no_webhook(api, persona, persona_events):
    """Stage transitions and overflows are webhook events; a session without webhooks (nearly all) reads its
    routes from the shared cache, so those turns cost the same statements as any other."""
    hostile = {**APPRAISAL, "goal_relevance": 1, "goal_congruence": -1, "norm_compatibility": -1, "controllability": 0}
    body = {"sessionId": persona, "appraisal": hostile}
    counts = []
    for _ in range(20):
        with CaptureQueriesContext(connection) as captured:
            response = api.post("/emotion/v1/turn/appraisal", body, format="json")
        assert response.status_code == 200, response.content
        counts.append(len(captured.captured_queries))
    kinds = [event["type"] for event in persona_events.recorded]
    assert "stage_transition" in kinds and "emotional_overflow" in kinds  # the webhook events did happen
    # the first turn also fills the key and routes caches
    assert set(counts[1:]) == {EMOTION_TURN}, counts
    assert WebhookDelivery.objects.count() == 0


# The persona API's perceive with a given appraisal (the SDK's hot path): the persona's row with its relationship
# with the source, then one transaction: BEGIN, the UPDATE conditioned on the turn count, which on PostgreSQL
# also updates the relationship row (a data-modifying CTE; SQLite takes a second UPDATE), the episode INSERT
# (which finds the persona's memory itself), COMMIT.
PERCEIVE = {"postgresql": 5, "sqlite": 6}


def test_perceive_with_a_given_appraisal(owner, settings):
    from rest_framework.test import APIClient

    from apps.api.emotion.tests.test_persona_api import CONFIG, PRAISE

    sdk = APIClient()
    sdk.credentials(HTTP_X_API_KEY=owner.raw_key)
    persona_id = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    body = {
        "event": {"type": "chat_message", "sourceEntity": "Mina", "payload": {"message": "hi"}, "appraisal": PRAISE}
    }
    url = f"/emotion/v1/personas/{persona_id}/perceive"
    assert sdk.post(url, body, format="json").status_code == 200  # warms the key cache
    with CaptureQueriesContext(connection) as captured:
        response = sdk.post(url, body, format="json")
    assert response.status_code == 200, response.content
    statements = [query["sql"].replace("BEGIN IMMEDIATE", "BEGIN") for query in captured.captured_queries]
    assert len(statements) == PERCEIVE[connection.vendor], "\n".join(sql[:160] for sql in statements)
    assert statements[1] == "BEGIN" and statements[-1] == "COMMIT"
