"""The studio's ``stream: true`` under the real ASGI server: each token leaves as the model sends it.

The stack's model is a fake OpenAI-compatible server in this process that sends the reply's first token and
then holds the rest until the test releases it: the client must have that first ``delta`` frame while the
model is still holding (an ASGI handler that buffered the stream would deliver nothing until the end).
"""

import httpx
import pytest

from apps.accounts import services as accounts_services
from apps.api.studio.tests.sse import sse_frames
from tests.fakes.openai_server import DEFAULT_MODEL
from tests.live import fake_model_env, free_port, live_stack, model  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MODEL_PORT = free_port()
LIVE_ENV = fake_model_env(MODEL_PORT)


def test_studio_streams_deliver_tokens_while_the_model_is_still_writing(model, live_stack):  # noqa: F811
    app = accounts_services.app_create(name="studio stream app")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    base = f"{live_stack.base_url}/studio/api/v1/"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        conversation = client.post("conversations", json={"llm_id": DEFAULT_MODEL}).json()
        for path, body in [
            (f"conversations/{conversation['id']}/messages", {"content": "Hello", "stream": True}),
            ("completions", {"messages": [{"role": "user", "content": "Hi"}], "llm_id": DEFAULT_MODEL, "stream": True}),
        ]:
            model.set_mode("stream_hold", delay_seconds=15)
            with client.stream("POST", path, json=body) as response:
                assert response.status_code == 200, response.read()
                frames = sse_frames(response)
                event, first = next(frames)
                assert event == "delta" and first["content"]  # while the model holds the rest
                model.release_streams()
                rest = list(frames)
            assert rest[-1][0] == "done"
            assert first["content"] + "".join(data["content"] for _, data in rest[:-1]) == rest[-1][1]["content"]
        messages = client.get(f"conversations/{conversation['id']}/messages").json()
        assert [m["role"] for m in messages] == ["user", "agent"]
