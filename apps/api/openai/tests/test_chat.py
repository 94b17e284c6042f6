"""``POST /openai/v1/chat/completions`` over HTTP: the three kinds of call (a character with ``user``: a turn
of that end-user's session; a character without ``user``: stateless; a catalog model: a plain completion),
OpenAI's response shape, and bad input refused before anything is written or any model called."""

import json

import pytest

from apps.accounts.models import UsageRecord
from apps.conversations.models import Event, Run, Session
from apps.personas.models import PersonaSession

pytestmark = pytest.mark.django_db

URL = "/openai/v1/chat/completions"


def _chat(api, **body):
    return api.post(URL, body, format="json")


def _assert_completion(body: dict, model: str) -> str:
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == model and isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    return choice["message"]["content"]


def test_a_character_with_a_user_runs_a_turn_of_that_users_session_and_the_next_call_continues_it(api, owner, luna):
    first = _chat(api, model="character:luna", user="u-1", messages=[{"role": "user", "content": "You're amazing!"}])

    assert first.status_code == 200, first.content
    content = _assert_completion(first.json(), "character:luna")
    session = Session.objects.get(app=owner.api_key.app, character=luna, external_user_ref="u-1")
    reply = Event.objects.get(session=session, event_type="message.created", role="character")
    assert reply.payload["text"] == content
    assert first.json()["id"] == f"chatcmpl-{reply.run_id}"
    persona = PersonaSession.objects.get(pk=Session.objects.get(pk=session.pk).persona_session_id)
    valence_after_first = persona.state["emotion"]["V"]

    history = [
        {"role": "user", "content": "You're amazing!"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "text", "text": "Thank you "}, {"type": "text", "text": "so much!"}]},
    ]
    second = _chat(api, model="character:luna", user="u-1", messages=history)

    assert second.status_code == 200, second.content
    assert Session.objects.filter(character=luna, external_user_ref="u-1").count() == 1  # the same session
    texts = list(
        Event.objects.filter(session=session, event_type="message.created", role="user").values_list(
            "payload__text", flat=True
        )
    )
    assert texts == ["You're amazing!", "Thank you so much!"]
    persona.refresh_from_db()
    assert persona.turn_count == 2 and persona.state["emotion"]["V"] != valence_after_first  # the state carried

    _chat(api, model="character:luna", user="u-2", messages=[{"role": "user", "content": "hi"}])
    assert Session.objects.filter(character=luna).count() == 2  # one session per (character, user)


def test_a_character_without_a_user_answers_statelessly(api, owner, luna):
    response = _chat(
        api,
        model="character:luna",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello!"}],
        temperature=0.2,
        max_tokens=50,
    )

    assert response.status_code == 200, response.content
    _assert_completion(response.json(), "character:luna")
    assert not Session.objects.exists() and not Run.objects.exists()
    (record,) = UsageRecord.objects.filter(app=owner.api_key.app)
    assert (record.character, record.model, record.outcome) == ("luna", "scripted", "succeeded")


def test_a_catalog_model_is_a_plain_completion(api, owner):
    response = _chat(api, model="scripted", user="u-9", messages=[{"role": "user", "content": "Say hi"}])

    assert response.status_code == 200, response.content
    _assert_completion(response.json(), "scripted")
    assert not Session.objects.exists()
    (record,) = UsageRecord.objects.filter(app=owner.api_key.app)
    assert (record.character, record.external_user_ref) == ("", "u-9")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "scripted"}, "messages"),
        ({"model": "scripted", "messages": []}, "messages"),
        ({"model": "scripted", "messages": "hi"}, "messages"),
        ({"model": "scripted", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        (
            {"model": "scripted", "messages": [{"role": "tool", "content": "42", "tool_call_id": "c"}]},
            "messages[0].role",
        ),
        ({"model": "scripted", "messages": [{"role": "user", "content": 7}]}, "messages[0].content"),
        ({"model": "scripted", "messages": [{"role": "user", "content": "  "}]}, "messages[0].content"),
        (
            {"model": "scripted", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content",
        ),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}, "temperature"),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "logprobs": True}, "logprobs"),
        (
            {
                "model": "scripted",
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_object"},
            },
            "response_format",
        ),
        (
            {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
            "tool_choice",
        ),
        (
            {
                "model": "scripted",
                "messages": [{"role": "user", "content": "hi"}],
                "stream_options": {"include_usage": True},
            },
            "stream_options",
        ),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "frobnicate": 1}, "frobnicate"),
        ({"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "user": 5}, "user"),
        (
            {"model": "character:luna", "user": "u-1", "messages": [{"role": "assistant", "content": "hi"}]},
            "messages",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(api, luna, body, param):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param), error
    assert error["message"]
    assert not Session.objects.exists() and not UsageRecord.objects.exists()


def test_a_turn_longer_than_a_message_may_be_is_400_and_opens_no_session(api, luna, settings):
    settings.MESSAGE_MAX_CHARS = 10
    body = {"model": "character:luna", "user": "u-1", "messages": [{"role": "user", "content": "x" * 11}]}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"
    assert not Session.objects.exists() and not UsageRecord.objects.exists()


def test_a_body_that_is_not_json_is_400(api):
    response = api.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_ignored_fields_are_accepted(api):
    response = _chat(
        api,
        model="scripted",
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "hi", "name": "ada"}],
        top_p=0.5,
        max_completion_tokens=20,
        stop=["\n"],
        seed=3,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        metadata={"a": "b"},
        store=False,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        tool_choice="auto",
        n=1,
        response_format={"type": "text"},
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("model", ["character:theirs", "character:nobody", "character:", "gpt-99", "builtin"])
@pytest.mark.parametrize("user", ["", "u-1"])
def test_a_model_not_ours_is_404_model_not_found_and_writes_nothing(api, theirs, model, user):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if user:
        body["user"] = user

    response = api.post(URL, body, format="json")

    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "model", "model_not_found")
    assert not Session.objects.exists() and not UsageRecord.objects.exists()


def test_chat_needs_a_valid_key(anon, luna):
    body = {"model": "character:luna", "messages": [{"role": "user", "content": "hi"}]}
    missing = anon.post(URL, body, format="json")
    anon.credentials(HTTP_AUTHORIZATION="Bearer dk_nope")
    wrong = anon.post(URL, body, format="json")

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not UsageRecord.objects.exists()


def _frames(response) -> list[str]:
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n\n")
    return body[:-2].split("\n\n")


@pytest.mark.parametrize("user", ["", "u-1"])
def test_a_stream_is_chunk_frames_then_usage_then_done(api, luna, user):
    body = {
        "model": "character:luna",
        "messages": [{"role": "user", "content": "Tell me about your day"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if user:
        body["user"] = user

    response = api.post(URL, body, format="json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream") and response["Cache-Control"] == "no-cache"
    frames = _frames(response)
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]
    assert all(frame.startswith("data: {") for frame in frames[:-1])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks[1:-2])
    assert text and len({chunk["id"] for chunk in chunks}) == 1
    if user:
        reply = Event.objects.get(event_type="message.created", role="character")
        assert reply.payload["text"] == text and chunks[0]["id"] == f"chatcmpl-{reply.run_id}"
    else:
        assert not Session.objects.exists()


def test_a_stream_refused_before_it_starts_is_an_ordinary_error(api):
    body = {"model": "character:nobody", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = api.post(URL, body, format="json", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["error"]["code"] == "model_not_found"
