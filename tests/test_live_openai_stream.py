"""The OpenAI door's ``stream: true`` under the real ASGI server: each chunk leaves as the model sends it.

The stack's model is a fake OpenAI-compatible server in this process that sends the reply's first token and
then holds the rest until the test releases it. OpenAI's own client must have the role chunk and that first
content chunk in hand while the model is still holding: an ASGI handler that buffered the stream would
deliver nothing until the end. The turn is written once the reply ends, in the user's session.
"""

import openai
import pytest

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event
from tests.live import fake_model_env, free_port, live_stack, model  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MODEL_PORT = free_port()
LIVE_ENV = fake_model_env(MODEL_PORT)


def test_chunks_arrive_while_the_model_is_still_writing(model, live_stack):  # noqa: F811
    app = accounts_services.app_create(name="openai stream app")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    character_publish(app, slug="luna")
    model.set_mode("stream_hold", delay_seconds=15)

    with openai.OpenAI(base_url=f"{live_stack.base_url}/openai/v1", api_key=key, max_retries=0) as sdk:
        stream = sdk.chat.completions.create(
            model="character:luna",
            user="ada",
            messages=[{"role": "user", "content": "Hello Luna"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = iter(stream)
        role, first = next(chunks), next(chunks)
        assert role.choices[0].delta.role == "assistant"
        assert first.choices[0].delta.content
        assert not Event.objects.filter(event_type="message.created", role="character").exists()  # not yet written

        model.release_streams()
        rest = list(chunks)
    assert rest[-1].choices == [] and rest[-1].usage.completion_tokens > 0
    text = first.choices[0].delta.content + "".join(c.choices[0].delta.content or "" for c in rest[:-2])
    reply = Event.objects.get(event_type="message.created", role="character")
    assert reply.payload["text"] == text
