"""The offline ``scripted`` provider: the development and test stand-in for a real model.

It answers deterministically (the same conversation gives the same reply) and in character, from
what the prompt says about the character: the name after "You are", the ``Interests:`` line and the
``Voice samples:`` lines that ``conversations.prompts`` writes. It never touches the network, so
``make run`` works on a machine with nothing but Python.
"""

import hashlib
import json
import re
from collections.abc import Iterator

from apps.llm.types import ChatMessage, ChatResult, ModelSpec, Usage

_OPENERS = [
    "Oh, {echo}",
    "Hm, {echo}",
    "Ha, {echo}",
    "Okay, {echo}",
]
_MIDDLES = [
    "I was just thinking about {interest}.",
    "Honestly, {interest} has been on my mind all day.",
    "I got a little lost in {interest} earlier.",
    "You caught me in the middle of {interest}.",
]
# Openers for a character that writes first (the prompt's "Write first (<kind>):" line).
_INITIATE_OPENERS = {
    "cold_initiate": ["Hey, it's {name}!", "Hi you, {name} here.", "Guess who's back.", "Hey stranger!"],
    "session_resume": ["No pressure, but", "Okay, one more little nudge:", "Still there? Anyway,", "Hey again,"],
}
_INITIATE_MIDDLES = {
    "cold_initiate": [
        "I was just thinking about {interest} and it made me think of you.",
        "Today was all about {interest}, so of course I had to tell someone.",
        "I finally made time for {interest} today.",
    ],
    "session_resume": [
        "I'm still curious what you'd say.",
        "I keep coming back to {interest}, honestly.",
        "I didn't want our chat to just trail off.",
    ],
}
_INITIATE_QUESTIONS = {
    "cold_initiate": ["How have you been?", "What's new with you?", "What are you up to today?"],
    "session_resume": ["What do you think?", "Tell me when you're free?", "How's your day going?"],
}
_QUESTIONS = [
    "What are you up to?",
    "How's your day going?",
    "Tell me more?",
    "What made you think of that?",
]


def _pick(options: list[str], seed: bytes, salt: int) -> str:
    digest = hashlib.sha256(seed + bytes([salt])).digest()
    return options[digest[0] % len(options)]


def _character_facts(system: str) -> tuple[str, str, str]:
    name_match = re.search(r"You are ([^.\n]+)", system)
    interests_match = re.search(r"^Interests: (.+)$", system, re.MULTILINE)
    sample_match = (
        re.search(r"^- (.+)$", system.split("Voice samples:", 1)[1], re.MULTILINE)
        if "Voice samples:" in system
        else None
    )
    name = name_match.group(1).strip() if name_match else "your character"
    interest = interests_match.group(1).split(",")[0].strip() if interests_match else "a small project of mine"
    sample = sample_match.group(1).strip() if sample_match else ""
    return name, interest, sample


def _echo(user_text: str) -> str:
    words = re.sub(r"\s+", " ", user_text).strip().rstrip("?!.").split(" ")
    fragment = " ".join(words[:6]) if words and words[0] else "hi"
    return f'"{fragment}" — I like that.'


class ScriptedProvider:
    """Deterministic replies built from the prompt; usage counts words as tokens."""

    def reply_text(self, messages: list[ChatMessage]) -> str:
        system = "\n".join(m.content for m in messages if m.role == "system")
        users = [m.content for m in messages if m.role == "user"]
        last_user = users[-1] if users else ""
        seed = "\n".join(m.content for m in messages).encode()
        name, interest, sample = _character_facts(system)
        initiate = re.search(r"^Write first \((\w+)\):", system, re.MULTILINE)
        if initiate and initiate.group(1) in _INITIATE_OPENERS:
            return self._initiate_text(initiate.group(1), seed, name, interest)
        if not last_user:
            return f"Hey, it's {name}. " + _pick(_QUESTIONS, seed, 3)
        parts = [
            _pick(_OPENERS, seed, 0).format(echo=_echo(last_user)),
            sample if sample and seed[-1] % 2 == 0 else _pick(_MIDDLES, seed, 1).format(interest=interest),
            _pick(_QUESTIONS, seed, 2),
        ]
        return " ".join(parts)

    def _initiate_text(self, kind: str, seed: bytes, name: str, interest: str) -> str:
        """An in-character opener: a fresh start (cold initiate) or a light nudge (session resume)."""
        return " ".join(
            [
                _pick(_INITIATE_OPENERS[kind], seed, 10).format(name=name),
                _pick(_INITIATE_MIDDLES[kind], seed, 11).format(interest=interest),
                _pick(_INITIATE_QUESTIONS[kind], seed, 12),
            ]
        )

    def chat(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        text = self.reply_text(messages)
        usage = Usage(prompt_tokens=sum(len(m.content.split()) for m in messages), completion_tokens=len(text.split()))
        return ChatResult(text=text, model=spec.name, usage=usage)

    def chat_json(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        result = self.chat(spec, messages)
        data = {"text": result.text}
        return ChatResult(text=json.dumps(data), model=spec.name, usage=result.usage, data=data)

    def chat_stream(self, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str]:
        text = self.reply_text(messages)
        for index, word in enumerate(text.split(" ")):
            yield word if index == 0 else " " + word
