"""The OpenAI door driven by OpenAI's own Python client (``openai``) against a live server, as an integrator
points any OpenAI SDK at a Dramatis character: models, chat completions (a character's session per ``user``,
stateless without one, a catalog model), streaming with usage, image generation, and the client's typed
errors."""

import base64
from decimal import Decimal

import openai
import pytest

from apps.accounts import services as accounts_services
from apps.accounts.models import UsageRecord
from apps.conversations.models import Event, Session

pytestmark = pytest.mark.django_db(transaction=True)


def test_models_list_and_retrieve(sdk, luna, theirs):
    ids = [model.id for model in sdk.models.list()]
    assert ids[0] == "character:luna" and "character:theirs" not in ids and "scripted" in ids

    model = sdk.models.retrieve("character:luna")
    assert (model.id, model.object, model.created) == ("character:luna", "model", int(luna.created_at.timestamp()))
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.models.retrieve("character:theirs")
    assert raised.value.code == "model_not_found" and raised.value.status_code == 404


def test_a_character_remembers_the_user_across_calls(sdk, owner, luna):
    messages = [{"role": "user", "content": "Hello Luna, you're wonderful!"}]
    first = sdk.chat.completions.create(model="character:luna", user="ada", messages=messages)

    assert first.object == "chat.completion" and first.model == "character:luna"
    assert first.choices[0].message.role == "assistant" and first.choices[0].finish_reason == "stop"
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens > 0
    messages += [{"role": "assistant", "content": first.choices[0].message.content}]
    messages += [{"role": "user", "content": "What did I just say?"}]
    second = sdk.chat.completions.create(model="character:luna", user="ada", messages=messages)

    (session,) = Session.objects.filter(app=owner.api_key.app, character=luna, external_user_ref="ada")
    replies = Event.objects.filter(session=session, event_type="message.created", role="character").order_by("cursor")
    assert [reply.payload["text"] for reply in replies] == [
        first.choices[0].message.content,
        second.choices[0].message.content,
    ]
    emotions = Event.objects.filter(session=session, event_type="emotion.updated").order_by("cursor")
    assert [event.run_id for event in emotions] == [reply.run_id for reply in replies]  # one state, carried


def test_a_character_without_a_user_and_a_catalog_model_write_no_session(sdk, luna):
    stateless = sdk.chat.completions.create(model="character:luna", messages=[{"role": "user", "content": "Hi!"}])
    plain = sdk.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "Hi!"}])

    assert stateless.choices[0].message.content and plain.choices[0].message.content
    assert (stateless.model, plain.model) == ("character:luna", "scripted")
    assert not Session.objects.exists()
    assert UsageRecord.objects.count() == 2


@pytest.mark.parametrize("user", [None, "ada"])
def test_streaming_sends_chunks_then_usage_then_done(sdk, luna, user):
    extra = {"user": user} if user else {}
    stream = sdk.chat.completions.create(
        model="character:luna",
        messages=[{"role": "user", "content": "Tell me about your day"}],
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    chunks = list(stream)

    assert all(chunk.object == "chat.completion.chunk" and chunk.model == "character:luna" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [chunk.choices[0].delta.content for chunk in chunks[1:-2]]
    assert len(texts) > 1 and all(texts)  # the reply arrives in pieces, as the model writes it
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    if user:
        reply = Event.objects.get(event_type="message.created", role="character")
        assert reply.payload["text"] == "".join(texts)
    else:
        assert not Session.objects.exists()


def test_streaming_without_usage_has_no_usage_chunk(sdk):
    chunks = list(
        sdk.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert chunks[-1].choices[0].finish_reason == "stop" and all(chunk.usage is None for chunk in chunks)


def test_images_generate(sdk, owner):
    as_url = sdk.images.generate(prompt="a red kite", size="256x256")
    as_b64 = sdk.images.generate(prompt="a red kite", model="builtin", response_format="b64_json", n=2)

    assert as_url.data[0].url.startswith("http") and as_url.data[0].b64_json is None
    assert len(as_b64.data) == 2 and base64.b64decode(as_b64.data[0].b64_json).startswith(b"\x89PNG")
    assert UsageRecord.objects.filter(app=owner.api_key.app, purpose="image").count() == 2


def test_errors_are_the_clients_typed_exceptions(sdk, live_server, owner, luna):
    stranger = openai.OpenAI(base_url=f"{live_server.url}/openai/v1", api_key="dk_wrong", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError) as raised:
        stranger.models.list()
    assert raised.value.code == "invalid_api_key"

    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="character:nobody", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hi"}], n=3)
    assert raised.value.param == "n"
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.images.generate(prompt="x", model="scripted")

    accounts_services.budget_policy_set(app=owner.api_key.app, limit_credits=Decimal("0.000001"))
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="character:luna", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 402 and raised.value.code == "insufficient_quota"
    assert not UsageRecord.objects.exists()


def test_a_real_model_gets_the_characters_sheet_and_the_requests_history(sdk, fake_llm, luna):
    messages = [
        {"role": "user", "content": "I'm Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "Remember my name?"},
    ]
    reply = sdk.chat.completions.create(model="character:luna", user="ada", messages=messages)

    assert reply.choices[0].message.content
    sent = fake_llm.requests[-1].body["messages"]
    assert "Luna" in sent[0]["content"] and sent[0]["role"] == "system"
    assert [(m["role"], m["content"]) for m in sent[-3:]] == [(m["role"], m["content"]) for m in messages]


@pytest.mark.parametrize("user", [None, "ada"])
def test_a_reply_that_fails_mid_stream_ends_with_an_error_the_client_raises(sdk, fake_llm, luna, user):
    fake_llm.set_mode("stream_error")
    extra = {"user": user} if user else {}
    stream = sdk.chat.completions.create(
        model="character:luna", messages=[{"role": "user", "content": "hi"}], stream=True, **extra
    )

    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert received[0].choices[0].delta.role == "assistant" and received[1].choices[0].delta.content
    if user:
        assert Event.objects.filter(event_type="run.failed").count() == 1
        assert not Event.objects.filter(event_type="message.created", role="character").exists()
