"""The offline ``scripted`` provider: the development and test stand-in for a real model.

It plays the character from the character sheet that ``conversations.prompts`` writes: the name after
"You are", the ``Interests:``, ``Where you live:`` and ``Bio:`` lines, the ``Voice samples:`` list, and the
greeting the session opened with (the first character message of the history). When the memory recalled a
fact for a question ("What you know about the user ...:" and its first "- " line), the reply tells it back.

Selfies: when the system prompt carries the "Selfies (proactivity <p>, comfort <c>):" line, ``chat_json``
answers ``{"reply": ..., "selfie": null | {"scene", "caption"}}`` and decides deterministically: a selfie
when the user's last message asks for one (selfie, photo, pic, picture, snap); otherwise, from the third
user message on, when a hash of the conversation falls under proactivity x comfort x 25% (so at most one
turn in four for a character at 1 and 1, none at 0). The scene is the character in its city doing its
interest, plus what the user asked to see. Each reply is a reaction
to the kind of message the user sent (a question, a hello, a feeling, anything else), a line in the
character's voice and a question back. Choices are seeded from a hash of the whole conversation, so the
same history always gives the same reply (no global random state), and lines the character already said
in this conversation are skipped while fresh ones remain, so consecutive turns differ. The user's words
are never quoted back. It never touches the network, so ``make run`` works on a machine with nothing but
Python.
"""

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from apps.llm.types import ChatMessage, ChatResult, ModelSpec, Usage

_REACTIONS = {
    "question": ["Good question.", "Hmm, let me think.", "Ooh, you're curious today.", "Honestly?", "Okay, truth:"],
    "hello": ["Hey you!", "There you are!", "Hi hi.", "Oh hey, perfect timing."],
    "feeling": ["Aw, come here.", "I hear you.", "That sounds like a lot.", "I'm glad you told me."],
    "other": ["Oh, I like that.", "Ha, really?", "Okay, noted.", "Mm, that makes sense.", "Wait, tell me more."],
}
_PHOTO_ASK = re.compile(r"\b(selfie|photo|pic|picture|snap|snapshot)s?\b", re.IGNORECASE)
_SELFIE_LINE = re.compile(r"^Selfies \(proactivity ([0-9.]+), comfort ([0-9.]+)\):", re.MULTILINE)
# The share of turns a character at proactivity 1 and comfort 1 sends a selfie unasked.
_SELFIE_RAPPORT_SHARE = 0.25
_FEELING_WORDS = ("sad", "tired", "happy", "lonely", "stressed", "angry", "excited", "miss", "love", "worried")
_HELLO_WORDS = ("hi", "hey", "hello", "yo", "morning", "evening", "howdy")

_INTEREST_LINES = [
    "I was just thinking about {interest}.",
    "Honestly, {interest} has been on my mind all day.",
    "I got a little lost in {interest} earlier.",
    "You caught me in the middle of {interest}.",
    "Today was mostly {interest}, and I'm not sorry.",
]
_PLACE_LINES = ["It's quiet here in {city} tonight.", "{city} is doing its usual thing today."]
_BIO_LINES = ["You know me: {bio}", "Still the same me: {bio}"]
_GREETING_LINES = ['Like I said when you got here: "{greeting}"']
_QUESTIONS = [
    "What are you up to?",
    "How's your day going?",
    "Tell me more?",
    "What made you think of that?",
    "Do you like {interest} too?",
    "What would you do if you were me?",
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


@dataclass
class _Sheet:
    """What the system prompt says about the character."""

    name: str = "your character"
    interests: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    city: str = ""
    bio: str = ""

    @property
    def interest(self) -> str:
        return self.interests[0] if self.interests else "a small project of mine"


def _line(system: str, label: str) -> str:
    match = re.search(rf"^{label}: (.+)$", system, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _sheet(system: str) -> _Sheet:
    name = re.search(r"You are ([^.\n]+)", system)
    samples: list[str] = []
    if "Voice samples:" in system:
        for line in system.split("Voice samples:", 1)[1].splitlines()[1:]:
            if not line.startswith("- "):
                break
            samples.append(line[2:].strip())
    return _Sheet(
        name=name.group(1).strip() if name else "your character",
        interests=[item.strip() for item in _line(system, "Interests").split(",") if item.strip()],
        samples=samples,
        city=_line(system, "Where you live"),
        bio=_line(system, "Bio").rstrip("."),
    )


def _kind(text: str) -> str:
    words = set(re.findall(r"[a-z']+", text.lower()))
    if text.rstrip().endswith("?"):
        return "question"
    if words & set(_FEELING_WORDS):
        return "feeling"
    if words & set(_HELLO_WORDS):
        return "hello"
    return "other"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…", "~", ")")) else text + "."


# The heading of the facts the memory recalled for this message (conversations.memory.assembly.FACTS_HEADING).
_FACTS = re.compile(r"^What you know about the user[^\n]*:\n- (.+)$", re.MULTILINE)
_SECOND_PERSON = [
    (re.compile(r"^The user's "), "your "),
    (re.compile(r"^The user is "), "you are "),
    (re.compile(r"^The user has "), "you have "),
    (re.compile(r"^The user (\w+?)s "), r"you \1 "),
]


def _remembered(system: str) -> str:
    """The most relevant recalled fact, retold to the user ("The user's sister is Mara." -> "your sister is
    Mara."), or "" when the prompt recalls none."""
    found = _FACTS.search(system)
    if not found:
        return ""
    fact = found.group(1).strip()
    for pattern, replacement in _SECOND_PERSON:
        retold = pattern.sub(replacement, fact)
        if retold != fact:
            return retold
    return fact[0].lower() + fact[1:] if fact else ""


class _Chooser:
    """Deterministic picks from the conversation's hash, preferring lines not yet said in it."""

    def __init__(self, seed: bytes, said: str) -> None:
        self.seed, self.said = seed, said

    def pick(self, options: list[str], salt: int) -> str:
        start = hashlib.sha256(self.seed + salt.to_bytes(2, "big")).digest()[0]
        ordered = [options[(start + offset) % len(options)] for offset in range(len(options))]
        return next((option for option in ordered if option not in self.said), ordered[0])


def _pick(options: list[str], seed: bytes, salt: int) -> str:
    return _Chooser(seed, "").pick(options, salt)


class ScriptedProvider:
    """Deterministic replies built from the prompt; usage counts words as tokens."""

    def reply_text(self, messages: list[ChatMessage]) -> str:
        system = "\n".join(m.content for m in messages if m.role == "system")
        history = [m for m in messages if m.role != "system"]
        users = [m.content for m in history if m.role == "user"]
        seed = "\n".join(m.content for m in messages).encode()
        sheet = _sheet(system)
        initiate = re.search(r"^Write first \((\w+)\):", system, re.MULTILINE)
        if initiate and initiate.group(1) in _INITIATE_OPENERS:
            return self._initiate_text(initiate.group(1), seed, sheet.name, sheet.interest)
        if not users:
            return f"Hey, it's {sheet.name}. " + _pick(_QUESTIONS[:4], seed, 3)
        said = "\n".join(m.content for m in history if m.role == "assistant")
        greeting = history[0].content.strip() if history[0].role == "assistant" else ""
        choose = _Chooser(seed, said)
        interest = choose.pick(sheet.interests, 4) if sheet.interests else sheet.interest
        samples = [_sentence(sample) for sample in sheet.samples]
        others = [line.format(interest=interest) for line in _INTEREST_LINES]
        others += [line.format(city=sheet.city) for line in _PLACE_LINES if sheet.city]
        others += [line.format(bio=sheet.bio) for line in _BIO_LINES if sheet.bio]
        others += [line.format(greeting=greeting) for line in _GREETING_LINES if greeting and len(users) > 2]
        # Every other turn speaks in one of the character's own voice samples while some are still unsaid.
        fresh_samples = [sample for sample in samples if sample not in said]
        middles = fresh_samples if fresh_samples and len(users) % 2 == 0 else others + samples
        remembered = _remembered(system)
        if remembered and _kind(users[-1]) == "question":
            middles = [f"You told me {remembered}"]  # a question that recalled a fact gets it back
        return " ".join(
            [
                choose.pick(_REACTIONS[_kind(users[-1])], 0),
                choose.pick(middles, 1),
                choose.pick([question.format(interest=interest) for question in _QUESTIONS], 2),
            ]
        )

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

    def selfie_wish(self, messages: list[ChatMessage]) -> dict | None:
        """The offline selfie decision (see the module docstring): a scene and caption, or None."""
        system = "\n".join(m.content for m in messages if m.role == "system")
        users = [m.content for m in messages if m.role == "user"]
        asked = _SELFIE_LINE.search(system)
        if asked is None:
            return None
        sheet = _sheet(system)
        place = f" in {sheet.city}" if sheet.city else ""
        last = users[-1] if users else ""
        if _PHOTO_ASK.search(last):
            wanted = " ".join(last.split())[:120].rstrip("?!. ")
            return {"scene": f"{sheet.name}{place}, {sheet.interest}; asked for: {wanted}", "caption": "Here you go!"}
        odds = float(asked.group(1)) * float(asked.group(2)) * _SELFIE_RAPPORT_SHARE
        roll = int.from_bytes(hashlib.sha256("\n".join(m.content for m in messages).encode()).digest()[:4], "big")
        if len(users) >= 3 and roll / 2**32 < odds:
            return {"scene": f"{sheet.name}{place}, {sheet.interest}", "caption": "Thought you'd like to see this."}
        return None

    def chat_json(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        result = self.chat(spec, messages)
        data: dict = {"text": result.text}
        if _SELFIE_LINE.search("\n".join(m.content for m in messages if m.role == "system")):
            data = {"reply": result.text, "selfie": self.selfie_wish(messages)}
        return ChatResult(text=json.dumps(data), model=spec.name, usage=result.usage, data=data)

    def chat_stream(self, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str | Usage]:
        """The reply word by word, then its usage (counted as ``chat`` counts it)."""
        text = self.reply_text(messages)
        for index, word in enumerate(text.split(" ")):
            yield word if index == 0 else " " + word
        yield Usage(prompt_tokens=sum(len(m.content.split()) for m in messages), completion_tokens=len(text.split()))
