"""The offline ``scripted`` provider: deterministic, in character, and the same text streamed or not."""

from apps.llm import selectors, services
from apps.llm.types import ChatMessage

SYSTEM = ChatMessage("system", "You are Mira. Stay in character.\nInterests: astronomy, tea\nReply like a text.")


def _spec(db):
    return selectors.model_spec_get(name="scripted")


def test_same_conversation_same_reply_and_a_different_one_differs(db):
    spec = _spec(db)
    conversation = [SYSTEM, ChatMessage("user", "what did you do today?")]

    first = services.chat(spec=spec, messages=conversation)
    again = services.chat(spec=spec, messages=list(conversation))
    other = services.chat(spec=spec, messages=[SYSTEM, ChatMessage("user", "tell me about your week")])

    assert first == again
    assert first.text != other.text
    assert '"what did you do today" — I like that.' in first.text
    assert first.model == "scripted"
    assert first.usage.completion_tokens == len(first.text.split())
    assert first.usage.prompt_tokens == sum(len(m.content.split()) for m in conversation)


def test_opening_without_a_user_message_introduces_the_character(db):
    result = services.chat(spec=_spec(db), messages=[SYSTEM])

    assert result.text.startswith("Hey, it's Mira. ")


def test_stream_concatenates_to_the_chat_text(db):
    spec = _spec(db)
    conversation = [SYSTEM, ChatMessage("user", "hey there")]

    deltas = list(services.chat_stream(spec=spec, messages=conversation))

    assert len(deltas) > 3
    assert "".join(deltas) == services.chat(spec=spec, messages=conversation).text


def test_json_output_wraps_the_reply(db):
    spec = _spec(db)
    conversation = [SYSTEM, ChatMessage("user", "hey there")]

    result = services.chat_json(spec=spec, messages=conversation)

    assert result.data == {"text": services.chat(spec=spec, messages=conversation).text}
