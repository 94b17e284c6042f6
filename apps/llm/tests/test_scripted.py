"""The offline ``scripted`` provider: deterministic, in character, varied across turns, never a parrot, and the
same text streamed or not."""

import re

from apps.llm import selectors, services
from apps.llm.types import ChatMessage

SYSTEM = ChatMessage("system", "You are Mira. Stay in character.\nInterests: astronomy, tea\nReply like a text.")
LUNA = {
    "display_name": "Luna",
    "greeting": "hey, you found me!",
    "voice_samples": ["honestly? the stars were extra loud tonight", "tea first, questions later"],
    "profile": {"visible_interests": ["astronomy", "night walks", "oolong tea"], "city": "Lisbon"},
}


def _system(content: dict) -> ChatMessage:
    """The character sheet in the lines ``conversations.prompts`` writes (this app sits below conversations)."""
    profile = content.get("profile", {})
    lines = [f"You are {content['display_name']}. Stay in character at all times; you are not an AI assistant."]
    if profile.get("visible_interests"):
        lines.append("Interests: " + ", ".join(profile["visible_interests"]))
    if profile.get("city"):
        lines.append(f"Where you live: {profile['city']}")
    lines += ["Voice samples:", *(f"- {sample}" for sample in content["voice_samples"])]
    lines.append("Reply like a text message: short, natural, one to three sentences.")
    return ChatMessage("system", "\n".join(lines))


def _spec(db):
    return selectors.model_spec_get(name="scripted")


def _conversation(spec, content: dict, user_messages: list[str]) -> list[str]:
    """Play the user's messages against the provider the way the pipeline does: the greeting first, each reply
    appended to the history before the next message."""
    history = [_system(content), ChatMessage("assistant", content["greeting"])]
    replies = []
    for text in user_messages:
        history.append(ChatMessage("user", text))
        reply = services.chat(spec=spec, messages=list(history)).text
        history.append(ChatMessage("assistant", reply))
        replies.append(reply)
    return replies


def test_same_conversation_same_reply_and_a_different_one_differs(db):
    spec = _spec(db)
    conversation = [SYSTEM, ChatMessage("user", "what did you do today?")]

    first = services.chat(spec=spec, messages=conversation)
    again = services.chat(spec=spec, messages=list(conversation))
    other = services.chat(spec=spec, messages=[SYSTEM, ChatMessage("user", "tell me about your week")])

    assert first == again
    assert first.text != other.text
    assert first.model == "scripted"
    assert first.usage.completion_tokens == len(first.text.split())
    assert first.usage.prompt_tokens == sum(len(m.content.split()) for m in conversation)


def test_it_never_quotes_the_users_words_back(db):
    spec = _spec(db)
    user_text = "my purple giraffe collection keeps growing"

    reply = services.chat(spec=spec, messages=[SYSTEM, ChatMessage("user", user_text)]).text

    assert "giraffe" not in reply and "purple" not in reply


def test_replies_vary_across_turns_and_replay_identically(db):
    spec = _spec(db)
    messages = ["hi!", "what are you up to?", "I'm a bit tired today", "ok", "do you like music?", "ok"]

    replies = _conversation(spec, LUNA, messages)

    assert len(set(replies)) == len(replies)  # no turn repeats an earlier one, even for the same "ok"
    sentences = [part for reply in replies for part in re.split(r"(?<=[.?!])\s+", reply)]
    assert len(sentences) == len(set(sentences))  # no line is said twice while fresh ones remain
    assert _conversation(spec, LUNA, messages) == replies  # the same history gives the same replies


def test_lines_come_from_the_characters_own_fields(db):
    spec = _spec(db)

    text = " ".join(_conversation(spec, LUNA, ["hi", "and?", "go on", "really?", "wow", "hm", "ok", "yes"]))

    assert "the stars were extra loud tonight" in text and "tea first, questions later" in text  # voice samples
    assert sum(interest in text for interest in ("astronomy", "night walks", "oolong tea")) >= 2
    assert "Lisbon" in text
    assert "hey, you found me!" in text  # the greeting, recalled later in the conversation
    # another character's sheet gives other lines for the same messages
    other = {**LUNA, "voice_samples": ["arr, the sea is calm"], "profile": {"visible_interests": ["sailing"]}}
    other_text = " ".join(_conversation(spec, other, ["hi", "and?", "go on"]))
    assert "sailing" in other_text and "astronomy" not in other_text and "Lisbon" not in other_text


def test_the_reaction_fits_the_kind_of_message(db):
    spec = _spec(db)

    question = services.chat(spec=spec, messages=[SYSTEM, ChatMessage("user", "what's your favourite star?")]).text
    feeling = services.chat(spec=spec, messages=[SYSTEM, ChatMessage("user", "I feel so lonely tonight")]).text

    assert question.startswith(("Good question.", "Hmm, let me think.", "Ooh, you're curious today.", "Honestly?"))
    assert feeling.startswith(("Aw, come here.", "I hear you.", "That sounds like a lot.", "I'm glad you told me."))


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


def test_a_question_whose_prompt_recalled_a_fact_gets_the_fact_told_back():
    from apps.llm.providers.scripted import ScriptedProvider

    heading = "What you know about the user (from earlier conversations):"  # conversations' FACTS_HEADING
    system = f"You are Luna. Stay in character.\n{heading}\n- The user's sister is called Mara.\n- The user likes tea."
    provider = ScriptedProvider()
    asked = provider.reply_text([ChatMessage("system", system), ChatMessage("user", "What is my sister called?")])
    assert "You told me your sister is called Mara." in asked
    told = provider.reply_text([ChatMessage("system", system), ChatMessage("user", "I had a long day.")])
    assert "Mara" not in told
    plain = provider.reply_text(
        [ChatMessage("system", "You are Luna."), ChatMessage("user", "What is my sister called?")]
    )
    assert "You told me" not in plain
