"""World Info activation: which lorebook entries fire for the recent messages, and why.

The rules follow SillyTavern's documented World Info behaviour (docs.sillytavern.app, "World Info"); where this
engine differs, the docstring of the rule says so:

- Keys: any primary key found in the scanned text fires the entry. Plain keys are case-insensitive unless the
  entry is ``case_sensitive``; with ``extensions.match_whole_words`` they only match whole words (lookarounds,
  for phrases too). A key written ``/pattern/flags`` is a regex whose flags decide its case.
- Secondary keys (``selective``): AND ANY fires when at least one secondary key is also found, AND ALL when
  all are, NOT ANY when none is, NOT ALL when at least one is missing. Secondary keys are looked for in the same
  scanned text as the primary ones.
- Scan depth: the last ``scan_depth`` messages (the book's, or the entry's ``extensions.scan_depth``); 0 scans
  no message, so only constant, sticky and recursion-triggered entries can fire. Messages are scanned as one
  text joined with a separator no key can contain, so a key never matches across two messages.
- Constant entries fire without a key; disabled entries never fire.
- Probability (0-100, ST's ``useProbability``): an entry that would fire is kept only if a draw from ``rng``
  lands under its probability. Sticky entries are not drawn again (as in ST); 100 never draws.
- Inclusion groups (``extensions.group``, comma-separated names): of the entries of one group that would fire
  in one pass, one is kept: the ``group_override`` entry with the highest insertion order if any, else one
  drawn by ``group_weight``. A group that already has an entry active (sticky, or fired in an earlier pass)
  keeps that one and drops the others. (ST's "group scoring" option is not offered.)
- Budget: a book's ``token_budget`` caps the tokens of its entries. Candidates are taken in priority order,
  sticky first, then constant, then higher insertion order, then those from the chat before those from
  recursion; once one does not fit, it and every later one of that book go to ``trimmed`` (ST stops adding once
  the budget is exhausted). ``extensions.ignore_budget`` entries always fit.
- Recursion (``recursive_scanning``, on unless false, ST's default): the content of the entries that fired is
  scanned for further keys, pass after pass, at most ``extensions.max_recursion_steps`` (default 3, max 10)
  passes. ``prevent_recursion`` keeps an entry's content out of that scan, ``exclude_recursion`` keeps an entry
  from being fired by it, ``delay_until_recursion`` lets an entry fire only in a recursion pass.
- Timed effects, counted in user turns (ST counts messages): ``sticky`` N keeps an entry active for the N turns
  after the one it fired in; ``cooldown`` N stops it from firing for N turns after its activation ends (after
  the sticky turns, if any); ``delay`` N keeps it from firing before turn N. The state in and out is a plain
  JSON-serialisable dict keyed by ``"<book id>:<entry id>"``.
- Prompt order: ``before_char`` entries, then ``after_char`` ones; within a position by insertion order,
  lower first (Card V2: "lower = inserted higher"), so a higher order sits closer to the end of the prompt.
"""

import bisect
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from apps.characters.lore.book import CompiledBook, CompiledEntry, KeyMatcher, books_compiled

_SEPARATOR = "\x01"  # joins scanned messages; no key can contain it
_EXCERPT_CHARS = 40


@dataclass(frozen=True)
class ScanMessage:
    """One message of the recent history, oldest first."""

    role: str  # "user" | "character" | "system"
    text: str
    cursor: int | None  # the event cursor it came from (None for a caller's own history)


@dataclass(frozen=True)
class ActivatedEntry:
    book_id: str
    book_name: str
    entry_id: int
    name: str  # the entry's name, or its comment (ST's memo)
    content: str
    position: str  # "before_char" | "after_char"
    insertion_order: int
    tokens: int
    reason: str  # "constant" | "key" | "secondary" | "recursion" | "sticky"
    matched_key: str | None  # the key (or /regex/) that matched; None for constant and sticky
    matched_cursor: int | None  # the cursor of the message it matched in; None in recursion or with no cursor
    matched_text: str | None  # a short excerpt around the match

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoreActivation:
    entries: list[ActivatedEntry]  # in prompt order
    trimmed: list[ActivatedEntry]  # fired, but cut by their book's token budget
    state: dict = field(default_factory=dict)  # the timed effects to hand back next turn

    def as_dict(self) -> dict[str, Any]:
        return {
            "entries": [entry.as_dict() for entry in self.entries],
            "trimmed": [entry.as_dict() for entry in self.trimmed],
            "state": self.state,
        }


class _Buffer:
    """Messages joined for scanning, with where each starts, so a match is traced back to its message."""

    __slots__ = ("cursors", "lower", "starts", "text", "texts")

    def __init__(self, texts: Sequence[str], cursors: Sequence[int | None]) -> None:
        self.texts = texts
        self.cursors = cursors
        self.text = _SEPARATOR.join(texts)
        self.lower = self.text.lower()
        self.starts = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1

    def find(self, key: KeyMatcher) -> tuple[int, int] | None:
        """The span of the last occurrence of ``key`` (the most recent message wins), or None."""
        haystack = self.lower if key.on_lower else self.text
        if key.needle is not None:
            start = (self.lower if key.needle_on_lower else haystack).rfind(key.needle)
            if start < 0:
                return None
            if key.pattern is None:
                return start, start + len(key.needle)
        elif key.pattern.search(haystack) is None:
            return None
        last = None
        for found in key.pattern.finditer(haystack):
            last = found
        return None if last is None else last.span()

    def has(self, key: KeyMatcher) -> bool:
        haystack = self.lower if key.on_lower else self.text
        if key.needle is not None and key.needle not in (self.lower if key.needle_on_lower else haystack):
            return False
        return key.pattern is None or key.pattern.search(haystack) is not None

    def locate(self, span: tuple[int, int]) -> tuple[int | None, str]:
        index = bisect.bisect_right(self.starts, span[0]) - 1
        text, start = self.texts[index], span[0] - self.starts[index]
        end = min(len(text), span[1] - self.starts[index])
        left, right = max(0, start - _EXCERPT_CHARS), min(len(text), end + _EXCERPT_CHARS)
        excerpt = ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
        return self.cursors[index], excerpt


_EMPTY = _Buffer((), ())


@dataclass(slots=True)
class _Hit:
    entry: CompiledEntry
    reason: str
    key: str | None = None
    cursor: int | None = None
    excerpt: str | None = None


class _Scan:
    """One call's scanning: chat buffers per scan depth (built on first use) and the recursion buffer."""

    def __init__(self, messages: Sequence[ScanMessage]) -> None:
        self.messages = messages
        self.by_depth: dict[int, _Buffer] = {}
        self.recursion_new = _EMPTY  # the content that fired in the last pass
        self.recursion_all = _EMPTY  # all content that fired so far in this call

    def chat(self, depth: int) -> _Buffer:
        buffer = self.by_depth.get(depth)
        if buffer is None:
            recent = self.messages[-depth:] if depth > 0 else ()
            buffer = self.by_depth[depth] = _Buffer([m.text for m in recent], [m.cursor for m in recent])
        return buffer

    def recursion_add(self, texts: list[str]) -> None:
        self.recursion_new = _Buffer(texts, [None] * len(texts))
        every = [*self.recursion_all.texts, *texts]
        self.recursion_all = _Buffer(every, [None] * len(every))

    def match(self, entry: CompiledEntry, *, recursion_pass: bool) -> _Hit | None:
        """The entry's primary match if its secondary logic holds, else None.

        The first pass looks at the chat. A recursion pass looks only at the content that fired in the pass
        before (earlier content was looked at already), and at the chat again only for an entry that waited
        for recursion; secondary keys are looked for in the chat and all fired content.
        """
        chat = self.chat(entry.scan_depth)
        if not recursion_pass:
            scanned, context = [(chat, False)], [chat]
        elif not entry.recursive or entry.exclude_recursion:
            return None  # its chat keys were looked for in the first pass already
        else:
            scanned = [(chat, False)] if entry.delay_until_recursion else []
            scanned.append((self.recursion_new, True))
            context = [chat, self.recursion_all]
        for buffer, from_recursion in scanned:
            for key in entry.keys:
                span = buffer.find(key)
                if span is None:
                    continue
                if entry.secondary_keys and not self._secondary_holds(entry, context):
                    return None
                cursor, excerpt = buffer.locate(span)
                reason = "recursion" if from_recursion else ("secondary" if entry.secondary_keys else "key")
                return _Hit(entry, reason, key.source, None if from_recursion else cursor, excerpt)
        return None

    @staticmethod
    def _secondary_holds(entry: CompiledEntry, buffers: list[_Buffer]) -> bool:
        found = [any(buffer.has(key) for buffer in buffers) for key in entry.secondary_keys]
        logic = entry.selective_logic
        if logic == "and_any":
            return any(found)
        if logic == "and_all":
            return all(found)
        if logic == "not_any":
            return not any(found)
        return not all(found)  # not_all


def _priority(hit: _Hit) -> tuple:
    entry = hit.entry
    return (
        hit.reason != "sticky",
        not entry.constant,
        -entry.insertion_order,
        entry.book_index,
        entry.entry_index,
    )


def _groups_filter(hits: list[_Hit], active_groups: set[str], rng: random.Random) -> list[_Hit]:
    """One winner per inclusion group among ``hits`` (see the module's rules); entries of no group pass."""
    members: dict[str, list[_Hit]] = {}
    for hit in hits:
        for group in hit.entry.groups:
            members.setdefault(group, []).append(hit)
    if not members:
        return hits
    losers: set[int] = set()
    for group in sorted(members):
        contenders = [hit for hit in members[group] if id(hit) not in losers]
        if not contenders:
            continue
        sticky = [hit for hit in contenders if hit.reason == "sticky"]
        if sticky or group in active_groups:
            keep = {id(hit) for hit in sticky[:1]}
        elif any(hit.entry.group_override for hit in contenders):
            overrides = [hit for hit in contenders if hit.entry.group_override]
            keep = {id(max(overrides, key=lambda hit: (hit.entry.insertion_order, -hit.entry.entry_index)))}
        elif len(contenders) == 1:
            keep = {id(contenders[0])}
        else:
            weights = [max(hit.entry.group_weight, 0.0) for hit in contenders]
            winner = rng.choices(contenders, weights=weights)[0] if sum(weights) > 0 else contenders[0]
            keep = {id(winner)}
        losers.update(id(hit) for hit in contenders if id(hit) not in keep)
    return [hit for hit in hits if id(hit) not in losers]


def _activated(hit: _Hit, tokens: int) -> ActivatedEntry:
    entry = hit.entry
    return ActivatedEntry(
        book_id=entry.book_id,
        book_name=entry.book_name,
        entry_id=entry.entry_id,
        name=entry.name,
        content=entry.content,
        position=entry.position,
        insertion_order=entry.insertion_order,
        tokens=tokens,
        reason=hit.reason,
        matched_key=hit.key,
        matched_cursor=hit.cursor,
        matched_text=hit.excerpt,
    )


def _timed(state: Mapping[str, Any], turn: int) -> tuple[set[str], set[str], dict[str, dict]]:
    """Which entries are sticky and which cooling down at ``turn``, and the effects still running."""
    sticky, cooling, running = set(), set(), {}
    for key, effect in state.items():
        if not isinstance(effect, Mapping):
            continue
        sticky_until = effect.get("sticky_until")
        cooldown_until = effect.get("cooldown_until")
        fired = effect.get("fired")
        if isinstance(sticky_until, int) and isinstance(fired, int) and fired < turn <= sticky_until:
            sticky.add(key)
        elif isinstance(cooldown_until, int) and turn <= cooldown_until:
            cooling.add(key)
        if max(v for v in (sticky_until, cooldown_until, -1) if isinstance(v, int)) >= turn:
            running[key] = dict(effect)
    return sticky, cooling, running


def lore_activate(
    *,
    books: Sequence[dict],
    messages: Sequence[ScanMessage],
    state: Mapping[str, Any],
    turn: int,
    count_tokens: Callable[[str], int],
    rng: random.Random,
) -> LoreActivation:
    """Which entries of ``books`` fire for ``messages`` at user turn ``turn`` (see the module for every rule).

    ``books`` are the resolved books of a character version (its ``lorebooks`` content key), in merge order
    (the character's own book first); ``state`` is the ``state`` this function returned last turn (``{}`` at
    first); ``rng`` makes probability and group draws reproducible. Pure: no I/O, nothing mutated.
    """
    compiled: list[CompiledBook] = books_compiled(books)
    entries = [entry for book in compiled for entry in book.entries]
    if not entries:
        return LoreActivation(entries=[], trimmed=[], state={})
    sticky, cooling, running = _timed(state, turn)
    scan = _Scan(messages)
    budgets = {book.id: book.token_budget for book in compiled}
    max_steps = max((book.max_recursion_steps for book in compiled if book.recursive), default=0)
    used: dict[str, int] = {}
    overflowed: set[str] = set()
    done: set[str] = set()  # fired, trimmed, or failed their draw: not looked at again in this call
    active_groups: set[str] = set()
    kept: list[ActivatedEntry] = []
    trimmed: list[ActivatedEntry] = []
    fired_now: list[CompiledEntry] = []
    step = 0
    while True:
        recursion_pass = step > 0
        hits: list[_Hit] = []
        for entry in entries:
            key = entry.state_key
            if key in done:
                continue
            if not recursion_pass and key in sticky:
                hits.append(_Hit(entry, "sticky"))
                continue
            if key in cooling or turn < entry.delay:
                continue
            if entry.delay_until_recursion and not recursion_pass:
                continue
            if entry.constant and not recursion_pass:
                hits.append(_Hit(entry, "constant"))
                continue
            hit = scan.match(entry, recursion_pass=recursion_pass)
            if hit is not None:
                hits.append(hit)
        hits.sort(key=_priority)
        hits = _groups_filter(hits, active_groups, rng)
        recursion_texts = []
        for hit in hits:
            entry = hit.entry
            done.add(entry.state_key)
            if hit.reason != "sticky" and entry.probability < 100 and rng.random() * 100 >= entry.probability:
                continue
            tokens = count_tokens(entry.content)
            budget = budgets[entry.book_id]
            fits = (
                entry.ignore_budget
                or budget is None
                or (entry.book_id not in overflowed and used.get(entry.book_id, 0) + tokens <= budget)
            )
            if not fits:
                overflowed.add(entry.book_id)
                trimmed.append(_activated(hit, tokens))
                continue
            used[entry.book_id] = used.get(entry.book_id, 0) + tokens
            kept.append(_activated(hit, tokens))
            active_groups.update(entry.groups)
            if hit.reason != "sticky":
                fired_now.append(entry)
            if entry.recursive and not entry.prevent_recursion:
                recursion_texts.append(entry.content)
        if not recursion_texts or step >= max_steps:
            break
        scan.recursion_add(recursion_texts)
        step += 1
    for entry in fired_now:
        effect = {}
        if entry.sticky:
            effect.update(fired=turn, sticky_until=turn + entry.sticky)
        if entry.cooldown:
            effect["cooldown_until"] = turn + entry.sticky + entry.cooldown
        if effect:
            running[entry.state_key] = effect
    kept.sort(key=lambda item: (item.position != "before_char", item.insertion_order))
    return LoreActivation(entries=kept, trimmed=trimmed, state=running)
