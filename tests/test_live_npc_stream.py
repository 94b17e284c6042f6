"""The NPC ``message/stream`` under the real ASGI server: each token leaves as the model sends it.

The stack's model is a fake OpenAI-compatible server in this process that sends the reply's first token and
then holds the rest until the test releases it. Foil's SDK must have the step's metadata and that first token
in hand while the model is still holding: an ASGI handler that buffered the stream would deliver nothing
until the end.
"""

import pytest
from django.db import transaction
from foilengine import FoilEngineClient

from apps.accounts import services as accounts_services
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from tests.live import fake_model_env, free_port, live_stack, model  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MODEL_PORT = free_port()
LIVE_ENV = fake_model_env(MODEL_PORT)


def test_the_stream_delivers_tokens_while_the_model_is_still_writing(model, live_stack):  # noqa: F811
    app = accounts_services.app_create(name="npc stream app")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    with transaction.atomic():
        npc = npcs_services.npc_save(app=app, body=scenario_body())
    model.set_mode("stream_hold", delay_seconds=15)

    with FoilEngineClient(api_key=key, base_url=f"{live_stack.base_url}/npc", max_retries=0) as sdk:
        sdk.chat.init_session(npc.id, "player-1", "Ada", "female")
        stream = sdk.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1")
        metadata, first = next(stream), next(stream)
        assert (metadata.event_type, metadata.data.current_state, metadata.data.score) == ("metadata", "trust", 2)
        assert first.event_type == "text_delta" and first.data["text"]
        assert sdk.chat.get_session(npc.id, "player-1").current_state == "start"  # written after the reply

        model.release_streams()
        rest = list(stream)
        assert rest[-1].event_type == "done"
        assert first.data["text"] + "".join(e.data["text"] for e in rest[:-1]) == rest[-1].data.message
        assert sdk.chat.get_session(npc.id, "player-1").current_state == "trust"
