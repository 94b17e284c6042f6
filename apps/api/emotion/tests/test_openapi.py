"""Every endpoint's real responses (successes and errors) validate against /emotion/v1/openapi.json."""

from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.core import clock
from apps.personas.models import PersonaSession


@pytest.fixture
def document(anon):
    response = anon.get("/emotion/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    return document


def _check(document, path: str, method: str, response) -> None:
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, (path, method, response.status_code, response.content[:300])
    schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": document["components"]}).validate(response.json())


def test_responses_match_the_document(api, anon, document, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    created = api.post(
        "/emotion/v1/persona", {"preset": "playful_trickster", "identity": {"name": "Pip"}}, format="json"
    )
    _check(document, "/persona", "post", created)
    sid = created.json()["sessionId"]
    _check(document, "/persona", "post", api.post("/emotion/v1/persona", {"preset": "nope"}, format="json"))
    _check(document, "/persona", "post", anon.post("/emotion/v1/persona", {}, format="json"))
    _check(document, "/persona", "get", api.get("/emotion/v1/persona", {"limit": 1}))
    _check(document, "/persona/{sessionId}", "get", api.get(f"/emotion/v1/persona/{sid}"))
    _check(document, "/persona/{sessionId}", "get", api.get("/emotion/v1/persona/ses_nope"))
    _check(document, "/presets", "get", api.get("/emotion/v1/presets"))
    turn = api.post("/emotion/v1/turn", {"sessionId": sid, "message": "you are brilliant, thank you!"}, format="json")
    _check(document, "/turn", "post", turn)
    _check(document, "/turn", "post", api.post("/emotion/v1/turn", {"sessionId": sid}, format="json"))
    appraisal = {"sessionId": sid, "appraisal": APPRAISAL, "userId": "u7"}
    _check(document, "/turn/appraisal", "post", api.post("/emotion/v1/turn/appraisal", appraisal, format="json"))
    _check(document, "/state/{sessionId}", "get", api.get(f"/emotion/v1/state/{sid}"))
    preferences = api.put(f"/emotion/v1/proactive/{sid}/preferences", {"enabled": True}, format="json")
    _check(document, "/proactive/{sessionId}/preferences", "put", preferences)
    PersonaSession.objects.filter(pk=sid).update(last_turn_at=clock.now() - timedelta(days=9))
    actions = api.get(f"/emotion/v1/proactive/{sid}")
    assert actions.json()
    _check(document, "/proactive/{sessionId}", "get", actions)
    hostile = {**APPRAISAL, "goal_congruence": -1, "norm_compatibility": -1}
    _check(
        document,
        "/turn/appraisal",
        "post",
        api.post("/emotion/v1/turn/appraisal", {"sessionId": sid, "appraisal": hostile}, format="json"),
    )
    hook = {"url": "https://127.0.0.1:8443/hook", "secret": "s" * 20, "events": ["stage_transition"]}
    _check(document, "/webhook/{sessionId}", "post", api.post(f"/emotion/v1/webhook/{sid}", hook, format="json"))
    _check(document, "/webhook/{sessionId}", "post", api.post(f"/emotion/v1/webhook/{sid}", {}, format="json"))
    _check(document, "/webhook/{sessionId}", "get", api.get(f"/emotion/v1/webhook/{sid}"))
    _check(document, "/persona/{sessionId}", "delete", api.delete(f"/emotion/v1/persona/{sid}"))
