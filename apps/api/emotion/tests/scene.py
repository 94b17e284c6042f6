"""One of everything the emotion surface serves, created through its own API for one app: a molroo session with a
webhook and a turn, an SDK persona that perceived an event, a world with two members, a custom action, a
relationship and an interaction. The schema fuzzer aims at these ids; the isolation matrix tries them with
another app's key."""

from dataclasses import dataclass

from rest_framework.test import APIClient

from apps.api.emotion.tests.test_persona_api import CONFIG, PRAISE


@dataclass(frozen=True)
class Scene:
    session_id: str
    persona_id: str
    world_id: str
    member_ref: str
    other_member_ref: str
    action_ref: str
    relationship_id: str

    @property
    def path_values(self) -> dict[str, str]:
        """The value of each path parameter of the document."""
        return {
            "sessionId": self.session_id,
            "personaId": self.persona_id,
            "worldId": self.world_id,
            "memberRef": self.member_ref,
            "actionRef": self.action_ref,
            "relationshipId": self.relationship_id,
        }


def _created(response) -> dict:
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    return body.get("result", body)


def scene_build(client: APIClient, *, name: str = "Sera") -> Scene:
    """Requires loopback webhooks to be allowed (``WEBHOOK_ALLOWED_NETWORKS``)."""
    session_id = _created(client.post("/emotion/v1/persona", {"preset": "cheerful_companion"}, format="json"))[
        "sessionId"
    ]
    turn = client.post("/emotion/v1/turn", {"sessionId": session_id, "message": "thank you!"}, format="json")
    assert turn.status_code == 200, turn.content[:300]
    hook = {"url": "https://127.0.0.1:8443/hook", "secret": "s" * 20, "events": ["stage_transition"]}
    _created(client.post(f"/emotion/v1/webhook/{session_id}", hook, format="json"))
    config = {**CONFIG, "identity": {**CONFIG["identity"], "name": name}}
    persona_id = _created(client.post("/emotion/v1/personas", {"config": config}, format="json"))["personaId"]
    event = {"type": "chat_message", "sourceEntity": "user-1", "payload": {"message": "hello"}, "appraisal": PRAISE}
    perceived = client.post(f"/emotion/v1/personas/{persona_id}/perceive", {"event": event}, format="json")
    assert perceived.status_code == 200, perceived.content[:300]
    world_id = _created(client.post("/emotion/v1/worlds", {"name": f"{name}'s cafe"}, format="json"))["id"]
    members = f"/emotion/v1/worlds/{world_id}/personas"
    member_ref = _created(client.post(members, {"persona_id": persona_id}, format="json"))["id"]
    inline = {"display_name": "Mina", "config": {**CONFIG, "identity": {"name": "Mina"}}}
    other_member_ref = _created(client.post(members, inline, format="json"))["id"]
    action = {"name": "gift", "appraisal_vector": PRAISE}
    action_ref = _created(client.post(f"/emotion/v1/worlds/{world_id}/actions", action, format="json"))["id"]
    link = {"source_type": "persona", "source_id": member_ref, "target_type": "persona", "target_id": other_member_ref}
    relationship = client.put(f"/emotion/v1/worlds/{world_id}/relationships", link, format="json")
    assert relationship.status_code == 200, relationship.content[:300]
    interaction = {"target_persona_id": member_ref, "action_name": "gift", "actor_id": "user-1"}
    interacted = client.post(f"/emotion/v1/worlds/{world_id}/interact", interaction, format="json")
    assert interacted.status_code == 200, interacted.content[:300]
    return Scene(
        session_id=session_id,
        persona_id=persona_id,
        world_id=world_id,
        member_ref=member_ref,
        other_member_ref=other_member_ref,
        action_ref=action_ref,
        relationship_id=relationship.json()["result"]["id"],
    )
