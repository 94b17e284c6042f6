"""A resolved lorebook compiled for scanning: keys parsed and lower-cased once, regexes compiled once, every
SillyTavern extension read once into a typed ``CompiledEntry``.

A resolved book is the normalised Card V2 ``character_book`` dict stored in a character version's content (see
``normalise.py``): ``{id, name, description, scan_depth, token_budget, recursive_scanning, extensions, revision,
entries: [{id, keys, secondary_keys, selective, selective_logic, content, constant, enabled, insertion_order,
position, probability, comment, name, case_sensitive, use_regex, priority, extensions}]}``. ``revision`` is a
digest of the rest, so a compiled book is cached per (id, revision) and the turn compiles a book only once per
process and content.

Where a field exists both in Card V2 and in SillyTavern's entry ``extensions`` (the names ST's card export
writes), the Card V2 field wins and the extension is the fallback, so cards exported by ST behave as in ST.
"""

import hashlib
import json
import re
import re._constants as sre_constants
import re._parser as sre_parser
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.characters.types import LORE_POSITIONS, SELECTIVE_LOGIC_NAMES

# SillyTavern's numeric ``selectiveLogic`` is the index in SELECTIVE_LOGIC (world_info_logic: AND_ANY=0,
# NOT_ALL=1, NOT_ANY=2, AND_ALL=3); the API and the resolved books use the names.
SELECTIVE_LOGIC = SELECTIVE_LOGIC_NAMES
POSITIONS = LORE_POSITIONS

# SillyTavern's defaults: scan the last 2 messages, order 100, group weight 100, recursion on.
DEFAULT_SCAN_DEPTH = 2
DEFAULT_INSERTION_ORDER = 100
DEFAULT_GROUP_WEIGHT = 100.0
# ST lets recursion run until nothing new fires (its max steps setting defaults to "unlimited"); here a book's
# ``extensions.max_recursion_steps`` (1..10) bounds it, 3 unless set, so a chain of entries cannot run away.
DEFAULT_MAX_RECURSION_STEPS = 3
MAX_RECURSION_STEPS = 10

# ST's parseRegexFromString: a key written /pattern/flags is a regular expression.
_REGEX_KEY = re.compile(r"^/([\w\W]+?)/([gimsuy]*)$")
_JS_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def regex_key_compile(key: str, *, use_regex: bool = False) -> re.Pattern | None:
    """The compiled pattern of a regex key, or None for a plain key. Raises re.error for a bad pattern.

    ``/pattern/flags`` is always a regex (JavaScript flags: ``i``, ``m``, ``s`` map to Python's; ``g``, ``u``,
    ``y`` mean nothing for a search and are ignored); with Card V3's ``use_regex`` every key is a pattern.
    """
    written = _REGEX_KEY.match(key)
    if written is not None:
        flags = 0
        for letter in written.group(2):
            flags |= _JS_FLAGS.get(letter, 0)
        return re.compile(written.group(1), flags)
    if use_regex:
        return re.compile(key)
    return None


@dataclass(frozen=True, slots=True)
class KeyMatcher:
    """One key: a plain word or phrase (``needle``, lower-cased unless case-sensitive) or a pattern. A whole-word
    key has both: the needle is a cheap first test before its pattern runs."""

    source: str
    needle: str | None  # plain substring match (or the whole-word key's prefilter)
    pattern: re.Pattern | None  # regex key, or a plain key matched as a whole word
    on_lower: bool  # search the lower-cased buffer (case-insensitive plain keys)
    needle_on_lower: bool = False  # a case-insensitive regex's prefilter is looked for in the lower-cased buffer


def _required_literal(pattern: re.Pattern) -> str:
    """The longest run of plain characters every match of ``pattern`` contains (its top-level literals), or "".

    Python's regex engine gives up its literal-prefix speed-up under IGNORECASE and behind lookarounds; a
    substring test on this run first skips the regex for the many texts that cannot match.
    """
    try:
        parsed = sre_parser.parse(pattern.pattern, pattern.flags & ~re.IGNORECASE)
    except Exception:  # noqa: BLE001  (a private parser: any surprise only costs the speed-up)
        return ""
    best, run = "", []
    for op, argument in [*parsed, (None, None)]:
        if op is sre_constants.LITERAL:
            run.append(chr(argument))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best


def _key_matcher(key: str, *, case_sensitive: bool, whole_words: bool, use_regex: bool) -> KeyMatcher | None:
    key = key.strip() if not _REGEX_KEY.match(key) else key
    if not key:
        return None
    try:
        pattern = regex_key_compile(key, use_regex=use_regex)
    except re.error:
        return None  # validation refuses bad patterns on save; an old stored one simply never matches
    if pattern is not None:  # a regex's own flags decide its case
        prefilter = _required_literal(pattern)
        if prefilter and pattern.flags & re.IGNORECASE:
            return KeyMatcher(key, prefilter.lower(), pattern, on_lower=False, needle_on_lower=True)
        return KeyMatcher(key, prefilter or None, pattern, on_lower=False)
    text = key if case_sensitive else key.lower()
    if whole_words:
        # ST matches a whole-word key with (?:^|\W)(key)(?:$|\W); lookarounds do the same without eating the
        # neighbours, and apply to phrases too (ST falls back to a plain substring for keys with spaces).
        return KeyMatcher(key, text, re.compile(rf"(?<!\w){re.escape(text)}(?!\w)"), on_lower=not case_sensitive)
    return KeyMatcher(key, text, None, on_lower=not case_sensitive)


@dataclass(frozen=True, slots=True)
class CompiledEntry:
    book_index: int
    entry_index: int
    state_key: str  # "<book id>:<entry id>", the key of its timed effects in the session's state
    book_id: str
    book_name: str
    entry_id: int
    name: str
    content: str
    position: str
    insertion_order: int
    constant: bool
    keys: tuple[KeyMatcher, ...]
    secondary_keys: tuple[KeyMatcher, ...]
    selective_logic: str  # one of SELECTIVE_LOGIC; only read when secondary_keys is not empty
    scan_depth: int
    probability: float  # 100 when probability is off (ST's useProbability false)
    groups: tuple[str, ...]
    group_weight: float
    group_override: bool
    sticky: int
    cooldown: int
    delay: int
    exclude_recursion: bool
    prevent_recursion: bool
    delay_until_recursion: bool
    ignore_budget: bool
    recursive: bool  # its book scans recursively


@dataclass(frozen=True, slots=True)
class CompiledBook:
    id: str
    name: str
    scan_depth: int
    token_budget: int | None
    recursive: bool
    max_recursion_steps: int
    entries: tuple[CompiledEntry, ...]


def _first(*values: Any, default: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return default


def _whole(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def selective_logic_name(value: Any) -> str | None:
    """``and_any``/``not_all``/``not_any``/``and_all`` from a name (any case, spaces or underscores: ``AND ANY``)
    or ST's number 0-3; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and int(value) == value and 0 <= value < len(SELECTIVE_LOGIC):
        return SELECTIVE_LOGIC[int(value)]
    if isinstance(value, str):
        name = value.strip().lower().replace(" ", "_")
        return name if name in SELECTIVE_LOGIC else None
    return None


def _entry_compile(book_index: int, entry_index: int, book: CompiledBook, entry: Mapping[str, Any]) -> CompiledEntry:
    ext = entry.get("extensions") or {}
    case_sensitive = bool(_first(entry.get("case_sensitive"), ext.get("case_sensitive"), default=False))
    whole_words = bool(_first(ext.get("match_whole_words"), default=False))
    use_regex = bool(entry.get("use_regex", False))

    def matchers(keys: Any) -> tuple[KeyMatcher, ...]:
        made = (
            _key_matcher(str(key), case_sensitive=case_sensitive, whole_words=whole_words, use_regex=use_regex)
            for key in keys or ()
        )
        return tuple(matcher for matcher in made if matcher is not None)

    secondary = matchers(entry.get("secondary_keys"))
    selective = entry.get("selective")
    if selective is None:
        selective = bool(secondary)
    logic = selective_logic_name(entry.get("selective_logic"))
    logic = logic or selective_logic_name(ext.get("selectiveLogic")) or "and_any"
    probability = float(_first(entry.get("probability"), ext.get("probability"), default=100))
    if ext.get("useProbability") is False:
        probability = 100.0
    group = ext.get("group") or ""
    position = entry.get("position") if entry.get("position") in POSITIONS else None
    if position is None:  # ST's numeric world_info_position: 0 before the character, everything else after it
        position = "before_char" if _whole(ext.get("position"), 0) == 0 else "after_char"
    return CompiledEntry(
        book_index=book_index,
        entry_index=entry_index,
        state_key=f"{book.id}:{entry.get('id', entry_index)}",
        book_id=book.id,
        book_name=book.name,
        entry_id=_whole(entry.get("id"), entry_index),
        name=str(entry.get("name") or entry.get("comment") or ""),
        content=str(entry.get("content") or ""),
        position=position,
        insertion_order=_whole(entry.get("insertion_order"), DEFAULT_INSERTION_ORDER),
        constant=bool(entry.get("constant", False)),
        keys=matchers(entry.get("keys")),
        secondary_keys=secondary if selective else (),
        selective_logic=logic,
        scan_depth=max(0, _whole(ext.get("scan_depth"), book.scan_depth)),
        probability=probability,
        groups=tuple(name.strip() for name in str(group).split(",") if name.strip()),
        group_weight=float(_first(ext.get("group_weight"), default=DEFAULT_GROUP_WEIGHT)),
        group_override=bool(ext.get("group_override", False)),
        sticky=max(0, _whole(ext.get("sticky"), 0)),
        cooldown=max(0, _whole(ext.get("cooldown"), 0)),
        delay=max(0, _whole(ext.get("delay"), 0)),
        exclude_recursion=bool(ext.get("exclude_recursion", False)),
        prevent_recursion=bool(ext.get("prevent_recursion", False)),
        delay_until_recursion=bool(ext.get("delay_until_recursion", False)),
        ignore_budget=bool(ext.get("ignore_budget", False)),
        recursive=book.recursive,
    )


def book_revision(book: Mapping[str, Any]) -> str:
    """A digest of a book's content (without its own ``revision``): what the compile cache is keyed by."""
    body = {key: value for key, value in book.items() if key != "revision"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]


def book_compile(book_index: int, book: Mapping[str, Any]) -> CompiledBook:
    """Compile one resolved book; disabled entries and entries with nothing to insert are left out."""
    ext = book.get("extensions") or {}
    steps = _whole(ext.get("max_recursion_steps"), DEFAULT_MAX_RECURSION_STEPS)
    budget = book.get("token_budget")
    shell = CompiledBook(
        id=str(book.get("id") or f"book-{book_index}"),
        name=str(book.get("name") or ""),
        scan_depth=max(0, _whole(book.get("scan_depth"), DEFAULT_SCAN_DEPTH)),
        token_budget=budget if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0 else None,
        recursive=bool(_first(book.get("recursive_scanning"), default=True)),
        max_recursion_steps=min(max(steps, 0), MAX_RECURSION_STEPS),
        entries=(),
    )
    entries = tuple(
        _entry_compile(book_index, index, shell, entry)
        for index, entry in enumerate(book.get("entries") or ())
        if entry.get("enabled", True) and (entry.get("content") or "").strip()
    )
    return CompiledBook(**{**{f: getattr(shell, f) for f in CompiledBook.__dataclass_fields__}, "entries": entries})


_CACHE: dict[tuple[int, str, str], CompiledBook] = {}
_CACHE_LIMIT = 1024


def books_compiled(books: Any) -> list[CompiledBook]:
    """The compiled ``books``, from the per-process cache when a book's (position, id, revision) was seen."""
    compiled = []
    for index, book in enumerate(books):
        key = (index, str(book.get("id")), book.get("revision") or book_revision(book))
        found = _CACHE.get(key)
        if found is None:
            if len(_CACHE) >= _CACHE_LIMIT:
                _CACHE.clear()
            found = _CACHE[key] = book_compile(index, book)
        compiled.append(found)
    return compiled
