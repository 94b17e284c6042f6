"""The integrator's hand on what a character knows about an end-user: correcting and erasing the memory that every
session of one (app, character, end-user) shares. The turn reads only these rows, so an edit or an erasure
reaches the next prompt, and erased text is gone from the database.

The PATCH body (``changes``), every key optional::

    {"summary": "text" | "",                                  replace the rolling summary; "" clears it
     "blocks": [{"label": "slug", "value": "text" | null,     set a pinned block by label; null deletes it
                 "limit": 1..MEMORY_BLOCK_MAX_CHARS}],         limit optional: kept, or the maximum for a new one
     "facts": {"add": [{"text": "...", "key": "user.home"}],  a current fact (origin integrator); a key that a
                                                              current fact has closes that one
               "update": [{"id": "fact_...", "text": "..."}],  closes the fact and adds its successor
               "delete": ["fact_...", ...]}}                   removes the rows (closed ones too)

Everything is checked, then applied in one transaction under the memory row's lock: a bad operation anywhere
writes nothing.
"""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import Coalesce

from apps.conversations.errors import MemoryEditInvalid
from apps.conversations.models import Memory, MemoryFact, Session
from apps.conversations.selectors.memory import memory_of_session, session_memory_owner
from apps.conversations.types import BLOCK_LABEL_PATTERN
from apps.conversations.types import MEMORY_FACT_KEY_MAX_CHARS as FACT_KEY_MAX_CHARS
from apps.conversations.types import MEMORY_FACT_MAX_CHARS as FACT_MAX_CHARS
from apps.conversations.types import MEMORY_SUMMARY_MAX_CHARS as SUMMARY_MAX_CHARS
from apps.core import clock

if TYPE_CHECKING:
    from apps.accounts.models import App

BLOCK_LABEL = re.compile(BLOCK_LABEL_PATTERN)
MAX_FACT_OPERATIONS = 100
PATCH_KEYS = ("summary", "blocks", "facts")
FACT_OPERATIONS = ("add", "update", "delete")


@dataclass(frozen=True)
class _FactAdd:
    text: str
    key: str


@dataclass(frozen=True)
class _Changes:
    summary: str | None
    blocks: list[dict[str, Any]] | None
    adds: list[_FactAdd]
    updates: list[tuple[str, str]]
    deletes: list[str]


class _Problems:
    """Collects every problem of a body under its field path, so one answer names them all."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            raise MemoryEditInvalid(self.fields)


def _text(problems: _Problems, path: str, value: Any, *, limit: int, blank: bool = False) -> str:
    if not isinstance(value, str):
        problems.add(path, "Must be a string.")
        return ""
    if not blank and not value.strip():
        problems.add(path, "Must not be blank.")
    if len(value) > limit:
        problems.add(path, f"At most {limit} characters (got {len(value)}).")
    return value


def _blocks_validate(problems: _Problems, blocks: Any) -> list[dict[str, Any]] | None:
    if not isinstance(blocks, list):
        problems.add("blocks", 'Must be a list of {"label", "value", "limit"} objects.')
        return None
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        path = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.add(path, 'Must be an object {"label", "value", "limit"}.')
            continue
        for unknown in sorted(set(block) - {"label", "value", "limit"}):
            problems.add(f"{path}.{unknown}", "Unknown field.")
        label = block.get("label")
        if not isinstance(label, str) or not BLOCK_LABEL.match(label):
            problems.add(f"{path}.label", "A slug of at most 64 characters: lowercase letters, digits, - and _.")
        elif label in seen:
            problems.add(f"{path}.label", f"Block '{label}' is set twice in this request.")
        else:
            seen.add(label)
        if "value" not in block:
            problems.add(f"{path}.value", "Required: the block's text, or null to delete the block.")
        value = block.get("value")
        if value is not None and not isinstance(value, str):
            problems.add(f"{path}.value", "Must be a string, or null to delete the block.")
        limit = block.get("limit")
        if "limit" in block and (
            not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= settings.MEMORY_BLOCK_MAX_CHARS
        ):
            problems.add(f"{path}.limit", f"An integer from 1 to {settings.MEMORY_BLOCK_MAX_CHARS}.")
            limit = None
        checked.append({"label": label, "value": value, "limit": limit})
    return checked


def _facts_validate(problems: _Problems, facts: Any) -> tuple[list[_FactAdd], list[tuple[str, str]], list[str]]:
    adds: list[_FactAdd] = []
    updates: list[tuple[str, str]] = []
    deletes: list[str] = []
    if not isinstance(facts, dict):
        problems.add("facts", 'Must be an object {"add": [...], "update": [...], "delete": [ids]}.')
        return adds, updates, deletes
    for unknown in sorted(set(facts) - set(FACT_OPERATIONS)):
        problems.add(f"facts.{unknown}", "Unknown operation: use add, update or delete.")
    for operation in FACT_OPERATIONS:
        items = facts.get(operation, [])
        if not isinstance(items, list):
            problems.add(f"facts.{operation}", "Must be a list.")
        elif len(items) > MAX_FACT_OPERATIONS:
            problems.add(f"facts.{operation}", f"At most {MAX_FACT_OPERATIONS} per request.")
    touched: set[str] = set()

    def fact_id(path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            problems.add(path, "Must be a fact id (fact_...).")
            return None
        if value in touched:
            problems.add(path, f"Fact '{value}' is named twice in this request.")
            return None
        touched.add(value)
        return value

    for index, item in enumerate(facts.get("add") if isinstance(facts.get("add"), list) else []):
        path = f"facts.add[{index}]"
        if not isinstance(item, dict):
            problems.add(path, 'Must be an object {"text", "key"?}.')
            continue
        for unknown in sorted(set(item) - {"text", "key"}):
            problems.add(f"{path}.{unknown}", "Unknown field.")
        text = _text(problems, f"{path}.text", item.get("text"), limit=FACT_MAX_CHARS)
        key = item.get("key", "")
        if not isinstance(key, str) or len(key) > FACT_KEY_MAX_CHARS:
            problems.add(f"{path}.key", f"A string of at most {FACT_KEY_MAX_CHARS} characters.")
            key = ""
        adds.append(_FactAdd(text=text.strip(), key=key.strip()))
    for index, item in enumerate(facts.get("update") if isinstance(facts.get("update"), list) else []):
        path = f"facts.update[{index}]"
        if not isinstance(item, dict):
            problems.add(path, 'Must be an object {"id", "text"}.')
            continue
        for unknown in sorted(set(item) - {"id", "text"}):
            problems.add(f"{path}.{unknown}", "Unknown field.")
        found = fact_id(f"{path}.id", item.get("id"))
        text = _text(problems, f"{path}.text", item.get("text"), limit=FACT_MAX_CHARS)
        if found:
            updates.append((found, text.strip()))
    for index, item in enumerate(facts.get("delete") if isinstance(facts.get("delete"), list) else []):
        found = fact_id(f"facts.delete[{index}]", item)
        if found:
            deletes.append(found)
    return adds, updates, deletes


def memory_changes_validate(changes: Any) -> _Changes:
    """``changes`` checked without touching the database; MemoryEditInvalid naming every bad field path."""
    problems = _Problems()
    if not isinstance(changes, dict):
        problems.add("body", "Must be a JSON object.")
        problems.raise_any()
    for unknown in sorted(set(changes) - set(PATCH_KEYS)):
        problems.add(unknown, "Unknown field: send summary, blocks or facts.")
    summary = None
    if "summary" in changes:
        summary = _text(problems, "summary", changes["summary"], limit=SUMMARY_MAX_CHARS, blank=True).strip()
    blocks = _blocks_validate(problems, changes["blocks"]) if "blocks" in changes else None
    adds, updates, deletes = _facts_validate(problems, changes["facts"]) if "facts" in changes else ([], [], [])
    problems.raise_any()
    return _Changes(summary=summary, blocks=blocks, adds=adds, updates=updates, deletes=deletes)


def _blocks_merge(current: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks after setting each changed label (in place, or appended) and dropping those set to null."""
    merged = {block["label"]: dict(block) for block in current}
    problems = _Problems()
    for index, change in enumerate(changes):
        label, value = change["label"], change["value"]
        if value is None:
            merged.pop(label, None)
            continue
        limit = change["limit"] or merged.get(label, {}).get("limit") or settings.MEMORY_BLOCK_MAX_CHARS
        if len(value) > limit:
            problems.add(f"blocks[{index}].value", f"Longer than the block's limit of {limit} characters.")
        merged[label] = {"label": label, "value": value, "limit": limit}
    if len(merged) > settings.MEMORY_MAX_BLOCKS:
        problems.add(
            "blocks", f"At most {settings.MEMORY_MAX_BLOCKS} blocks per memory (this would make {len(merged)})."
        )
    problems.raise_any()
    return list(merged.values())


def _memory_ensure(session: Session) -> Memory:
    """The session's memory row, created on the (app, character, end-user) key if there is none yet, and attached
    to every session of that key that does not point at it."""
    memory = memory_of_session(session)
    owner = {
        "app_id": session.app_id,
        "character_id": session.character_id,
        "external_user_ref": session.external_user_ref,
    }
    if memory is None:
        try:
            with transaction.atomic():
                memory = Memory.objects.create(**owner)
        except IntegrityError:  # created meanwhile by a turn: the unique key has the last word
            memory = Memory.objects.get(**owner)
    if session.memory_id is None:
        Session.objects.filter(**owner, memory__isnull=True).update(memory=memory)
    return memory


def _facts_apply(memory: Memory, changes: _Changes, now) -> None:
    named = [fact_id for fact_id, _ in changes.updates] + changes.deletes
    found = {
        fact_id: (valid_to, key)
        for fact_id, valid_to, key in MemoryFact.objects.filter(memory=memory, pk__in=named).values_list(
            "id", "valid_to", "key"
        )
    }
    problems = _Problems()
    for index, (fact_id, _) in enumerate(changes.updates):
        if fact_id not in found:
            problems.add(f"facts.update[{index}].id", f"No fact '{fact_id}' in this memory.")
        elif found[fact_id][0] is not None:
            problems.add(f"facts.update[{index}].id", f"Fact '{fact_id}' was already replaced: update its successor.")
    for index, fact_id in enumerate(changes.deletes):
        if fact_id not in found:
            problems.add(f"facts.delete[{index}]", f"No fact '{fact_id}' in this memory.")
    problems.raise_any()
    if changes.deletes:
        MemoryFact.objects.filter(memory=memory, pk__in=changes.deletes).delete()
    closing = [fact_id for fact_id, _ in changes.updates]
    keys_superseded = [add.key for add in changes.adds if add.key]
    if closing or keys_superseded:
        MemoryFact.objects.filter(
            Q(pk__in=closing) | Q(key__in=keys_superseded), memory=memory, valid_to__isnull=True
        ).update(valid_to=now)
    successors = [
        MemoryFact(memory=memory, text=text, key=found[fact_id][1], origin=MemoryFact.Origin.INTEGRATOR)
        for fact_id, text in changes.updates
    ]
    successors += [
        MemoryFact(memory=memory, text=add.text, key=add.key, origin=MemoryFact.Origin.INTEGRATOR)
        for add in changes.adds
    ]
    for fact in successors:
        fact.valid_from = now
    MemoryFact.objects.bulk_create(successors)


def _fact_count_refresh(memory_id: str) -> None:
    """Set ``fact_count`` to the number of current facts, counted in the same statement."""
    current = (
        MemoryFact.objects.filter(memory_id=memory_id, valid_to__isnull=True)
        .values("memory_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    Memory.objects.filter(pk=memory_id).update(fact_count=Coalesce(Subquery(current), 0), updated_at=clock.now())


def session_memory_patch(*, app: "App", session_id: str, changes: Any) -> None:
    """Correct the memory the session shares with its (app, character, end-user): replace the summary, set or
    delete blocks by label, add, update (close and succeed) and delete facts. The body is the one described in
    this module's docstring.

    Checked first, then applied in one transaction holding the memory row's lock, so a concurrent turn's
    summary or extraction never interleaves; any bad operation (MemoryEditInvalid naming its field path, 422)
    writes nothing. Creates the memory row on first use. Raises SessionNotFound for another app's session."""
    checked = memory_changes_validate(changes)
    with transaction.atomic():
        session = session_memory_owner(app=app, session_id=session_id)
        memory = Memory.objects.select_for_update().get(pk=_memory_ensure(session).pk)
        now = clock.now()
        fields = []
        if checked.summary is not None:
            memory.summary = checked.summary
            memory.summary_updated_at = now
            fields += ["summary", "summary_updated_at"]
        if checked.blocks is not None:
            memory.blocks = _blocks_merge(list(memory.blocks or []), checked.blocks)
            fields.append("blocks")
        if fields:
            memory.save(update_fields=[*fields, "updated_at"])
        if checked.adds or checked.updates or checked.deletes:
            _facts_apply(memory, checked, now)
            _fact_count_refresh(memory.pk)


@dataclass(frozen=True)
class MemoryErased:
    memory_id: str | None
    facts: int
    blocks: int
    summary: bool


def session_memory_erase(*, app: "App", session_id: str) -> MemoryErased:
    """Erase everything the character knows about the session's end-user: the summary, every fact (current and
    closed: the rows are deleted) and every block, for all the sessions sharing that memory. Each of those
    sessions is marked summarised up to its last message, so the history the summary came from is not folded
    into a new one; the messages themselves stay in the event log. Raises SessionNotFound for another app's
    session."""
    with transaction.atomic():
        session = session_memory_owner(app=app, session_id=session_id)
        same_user = Session.objects.filter(
            app_id=session.app_id, character_id=session.character_id, external_user_ref=session.external_user_ref
        )
        same_user.update(summarised_through=F("last_cursor"))
        memory = memory_of_session(session)
        if memory is None:
            return MemoryErased(memory_id=None, facts=0, blocks=0, summary=False)
        memory = Memory.objects.select_for_update().get(pk=memory.pk)
        _, deleted = MemoryFact.objects.filter(memory=memory).delete()
        erased = MemoryErased(
            memory_id=memory.pk,
            facts=deleted.get(MemoryFact._meta.label, 0),
            blocks=len(memory.blocks or []),
            summary=bool(memory.summary),
        )
        memory.summary, memory.summary_updated_at, memory.blocks, memory.fact_count = "", None, [], 0
        memory.save(update_fields=["summary", "summary_updated_at", "blocks", "fact_count", "updated_at"])
    return erased
