"""The offline extractor: facts and a running summary from a conversation's messages, with no model call.

It is what ``MEMORY_EXTRACTOR=offline`` (and ``auto`` on the scripted model) uses, and it is deliberately
plain. Facts come only from the user's own first-person statements that match one of the rules below; each
rule gives the fact a ``key`` (what it is about), so a later statement with the same key updates it:

=================================================  =========================  ================================
The user writes                                    key                        fact
=================================================  =========================  ================================
my name is Ana / call me Ana / I'm called Ana      user.name                  The user's name is Ana.
my sister is called Mara / my dog's name is Rex    user.sister.name           The user's sister is called Mara.
I live in Lisbon / I moved to Lisbon               user.home                  The user lives in Lisbon.
I'm from Porto                                     user.origin                The user is from Porto.
I work as a nurse / my job is nursing              user.job                   The user works as a nurse.
I'm 34 years old                                   user.age                   The user is 34 years old.
my favourite band is Muse                          user.favourite.band        The user's favourite band is Muse.
my birthday is on May 3                            user.birthday              The user's birthday is on May 3.
I love hiking / I really like jazz                 user.likes.hiking          The user likes hiking.
I hate mornings / I can't stand jazz               user.likes.mornings        The user dislikes mornings.
I have a cat                                       user.has.cat               The user has a cat.
I don't like jazz anymore / I no longer like jazz  user.likes.jazz            (closes the fact)
=================================================  =========================  ================================

The summary keeps one line per user message ("User: <its first 160 characters>") after the previous summary, and
drops its oldest lines to stay within its token budget: an extractive digest, not an abstract one.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_RELATIONS = (
    "sister|brother|mother|mom|mum|father|dad|wife|husband|partner|girlfriend|boyfriend|son|daughter|"
    "best friend|friend|boss|dog|cat|pet|grandmother|grandma|grandfather|grandpa|aunt|uncle|cousin|roommate"
)
_NAME = r"((?-i:[A-Z][\w'-]+(?: [A-Z][\w'-]+)?))"  # capitalised words, whatever the rule's flags
_PHRASE = r"([^.,!?;\n]{2,60})"


@dataclass(frozen=True)
class Message:
    cursor: int
    role: str  # "user" | "character" | "system"
    text: str


@dataclass(frozen=True)
class CurrentFact:
    id: str
    key: str
    text: str


@dataclass(frozen=True)
class FactChange:
    """One change to the fact store: ``add`` a fact, ``update`` the current fact ``fact_id`` (closed, and a new
    one added), or ``delete`` it (closed). ``cursor`` is the message it came from."""

    op: str
    text: str = ""
    key: str = ""
    fact_id: str = ""
    cursor: int | None = None


def _clean(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip(" '\"")
    return re.sub(r"^(?:a|an|the|in|at|on)\s+", "", value, flags=re.IGNORECASE) if value else value


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:40]


def _statements(text: str) -> list[tuple[str, str, str | None]]:
    """(key, fact, None) to keep or (key, "", "forget") to close, for each rule ``text`` matches."""
    found: list[tuple[str, str, str | None]] = []
    for match in re.finditer(r"\b(?:my name is|call me|i'?m called|i am called)\s+" + _NAME, text, re.IGNORECASE):
        found.append(("user.name", f"The user's name is {match.group(1)}.", None))
    pattern = rf"\bmy ({_RELATIONS})(?:'s name)? is (?:called |named )?{_NAME}"
    for match in re.finditer(pattern, text, re.IGNORECASE):
        relation = match.group(1).lower()
        found.append((f"user.{_slug(relation)}.name", f"The user's {relation} is called {match.group(2)}.", None))
    for match in re.finditer(r"\bi (?:live|moved|am living|'m living) (?:in|to) " + _PHRASE, text, re.IGNORECASE):
        found.append(("user.home", f"The user lives in {_clean(match.group(1))}.", None))
    for match in re.finditer(r"\bi(?:'m| am) from " + _PHRASE, text, re.IGNORECASE):
        found.append(("user.origin", f"The user is from {_clean(match.group(1))}.", None))
    for match in re.finditer(r"\b(?:i work as|my job is|i'm working as) (?:an? )?" + _PHRASE, text, re.IGNORECASE):
        found.append(("user.job", f"The user works as {_clean(match.group(1))}.", None))
    for match in re.finditer(r"\bi(?:'m| am) (\d{1,3}) years? old\b", text, re.IGNORECASE):
        found.append(("user.age", f"The user is {match.group(1)} years old.", None))
    for match in re.finditer(r"\bmy favou?rite ([a-z ]{2,30}?) is " + _PHRASE, text, re.IGNORECASE):
        thing = match.group(1).strip().lower()
        found.append(
            (f"user.favourite.{_slug(thing)}", f"The user's favourite {thing} is {_clean(match.group(2))}.", None)
        )
    for match in re.finditer(r"\bmy birthday is " + _PHRASE, text, re.IGNORECASE):
        found.append(("user.birthday", f"The user's birthday is {match.group(1).strip()}.", None))
    for match in re.finditer(
        r"\bi (?:don'?t|do not|no longer) (?:like|love|enjoy) " + _PHRASE + r"(?: any ?more)?", text, re.IGNORECASE
    ):
        thing = re.sub(r"\s*any ?more$", "", _clean(match.group(1)), flags=re.IGNORECASE)
        found.append((f"user.likes.{_slug(thing)}", "", "forget"))
    for match in re.finditer(r"\bi (?:really |truly )?(?:like|love|enjoy|adore) " + _PHRASE, text, re.IGNORECASE):
        if re.search(r"\b(?:don'?t|do not|no longer)\s+$", text[: match.start() + 2], re.IGNORECASE):
            continue
        thing = _clean(match.group(1))
        if thing.lower().startswith(("you", "it", "that", "this")):
            continue
        found.append((f"user.likes.{_slug(thing)}", f"The user likes {thing}.", None))
    for match in re.finditer(r"\bi (?:hate|dislike|can'?t stand|cannot stand) " + _PHRASE, text, re.IGNORECASE):
        thing = _clean(match.group(1))
        found.append((f"user.likes.{_slug(thing)}", f"The user dislikes {thing}.", None))
    for match in re.finditer(r"\bi (?:have|own|got) (?:a|an) ([a-z]{2,20}(?: [a-z]{2,20})?)\b", text, re.IGNORECASE):
        thing = match.group(1).lower()
        found.append((f"user.has.{_slug(thing)}", f"The user has a {thing}.", None))
    return found


def facts_extract(*, messages: Sequence[Message], current: Sequence[CurrentFact]) -> list[FactChange]:
    """The changes the user's messages make to the current facts, oldest message first: a statement with a new
    key adds a fact, one with a key already held updates it (unless it says the same), a "no longer" closes it."""
    held = {fact.key: fact for fact in current if fact.key}
    changes: list[FactChange] = []
    for message in messages:
        if message.role != "user":
            continue
        for key, text, forget in _statements(message.text):
            fact = held.get(key)
            if forget:
                if fact is not None:
                    changes.append(FactChange("delete", key=key, fact_id=fact.id, cursor=message.cursor))
                    held.pop(key)
                continue
            if fact is not None and fact.text == text:
                continue
            if fact is not None:
                changes.append(FactChange("update", text=text, key=key, fact_id=fact.id, cursor=message.cursor))
            else:
                changes.append(FactChange("add", text=text, key=key, cursor=message.cursor))
            held[key] = CurrentFact(fact.id if fact is not None else "", key, text)
    return _collapse(changes)


def _collapse(changes: list[FactChange]) -> list[FactChange]:
    """Changes to a key added within the same batch become one add of its last value (or nothing, if forgotten)."""
    out: list[FactChange] = []
    added: dict[str, int] = {}
    for change in changes:
        index = added.get(change.key)
        if index is not None and change.op == "delete":
            out[index] = FactChange("skip")
            added.pop(change.key)
            continue
        if index is not None and not change.fact_id:
            out[index] = FactChange("add", text=change.text, key=change.key, cursor=change.cursor)
            continue
        if change.op == "add":
            added[change.key] = len(out)
        out.append(change)
    return [change for change in out if change.op != "skip"]


def _gist(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_fold(
    *, summary: str, messages: Sequence[Message], max_tokens: int, count_tokens: Callable[[str], int]
) -> str:
    """The summary after ``messages``: a line per user message after the old summary's lines, the oldest lines
    dropped until it fits ``max_tokens``."""
    lines = [line for line in summary.splitlines() if line.strip()]
    lines += [f"User: {_gist(message.text)}" for message in messages if message.role == "user" and message.text]
    while lines and count_tokens("\n".join(lines)) > max_tokens:
        lines.pop(0)
    return "\n".join(lines)
