"""Turning domain objects into the native surface's response data."""

from typing import TYPE_CHECKING

from apps.assets import selectors as asset_selectors
from apps.characters import selectors as character_selectors
from apps.conversations import selectors as conversation_selectors
from apps.conversations.selectors import MemoryView, ProactiveView
from apps.conversations.types import RunStatus

if TYPE_CHECKING:
    from apps.accounts.models import UsageRecord
    from apps.assets.types import VisualAsset, VisualReadiness
    from apps.characters.models import Character, CharacterVersion, Lorebook
    from apps.conversations.models import MemoryFact, Run, Session


def character_data(
    character: "Character",
    *,
    created: bool | None = None,
    dropped_fields: list[str] | tuple[str, ...] | None = None,
    with_content: bool = False,
) -> dict:
    version = character.current_version
    content = version.content if version else {}
    data = {
        "character_id": character.id,
        "slug": character.slug,
        "display_name": character.display_name,
        "status": "published" if version else "draft",
        "version_number": version.version_number if version else None,
        "authoring_readiness": character_selectors.character_readiness(character=character),
        "created_at": character.created_at,
        "updated_at": character.updated_at,
    }
    if created is not None:
        data["created"] = created
    if dropped_fields is not None:
        data["dropped_fields"] = list(dropped_fields)
    if with_content:
        data["content"] = content
    return data


def version_data(version: "CharacterVersion", current_id: str | None) -> dict:
    return {
        "version_id": version.id,
        "version_number": version.version_number,
        "content_hash": version.content_hash,
        "created_at": version.created_at,
        "is_current": version.id == current_id,
        "content": version.content,
    }


def session_data(session: "Session") -> dict:
    return {
        "session_id": session.id,
        "character": session.character.slug,
        "character_version": conversation_selectors.session_next_version(session=session).version_number,
        "character_version_pinned": session.character_version_pinned,
        "external_user_ref": session.external_user_ref,
        "proactive_enabled": session.proactive_enabled,
        "last_cursor": session.last_cursor,
        "user_turns": session.user_turn_count,
        "created_at": session.created_at,
    }


def proactive_data(view: ProactiveView) -> dict:
    session = view.session
    quiet = None
    if session.quiet_hours_start is not None and session.quiet_hours_end is not None:
        quiet = {"start": session.quiet_hours_start.strftime("%H:%M"), "end": session.quiet_hours_end.strftime("%H:%M")}
    return {
        "session_id": session.id,
        "proactive_enabled": session.proactive_enabled,
        "timezone": session.timezone,
        "quiet_hours": quiet,
        "controls": view.controls.values,
        "sources": view.controls.sources,
        "sent_today": view.sent_today,
        "next_due_at": view.next_due.at if view.next_due else None,
        "next_kind": view.next_due.kind if view.next_due else None,
    }


def run_data(run: "Run", usage: "UsageRecord | None" = None) -> dict:
    """The run with its cost from the usage ledger (``usage`` is the run's ledger row, if it has one)."""
    return {
        "run_ref": run.id,
        "status": run.status,
        "trigger_cursor": run.trigger_cursor,
        "attempts": run.attempts,
        "model": run.model,
        "model_calls": run.model_calls,
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": run.prompt_tokens + run.completion_tokens,
        "latency_ms": run.latency_ms,
        "error": run.status == RunStatus.FAILED,
        "error_code": run.error_code or None,
        "resource_type": usage.resource_type if usage else None,
        "reserved_credits": float(usage.reserved_credits) if usage else None,
        "credits": float(usage.credits) if usage else None,
        "usage_status": usage.status if usage else None,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def visual_asset_data(
    asset: "VisualAsset", *, retired: "VisualAsset | None" = None, with_retired: bool = False
) -> dict:
    """The asset with fresh signed URLs of its file and thumbnail (minted per read: no query)."""
    file_url = asset_selectors.file_url_signed(asset.file)
    data = {
        "asset_id": asset.id,
        "character": asset.character.slug,
        "asset_key": asset.asset_key,
        "category": asset.category,
        "status": asset.status,
        "promotion": asset.promotion,
        "label": asset.label,
        "visual_summary": asset.visual_summary,
        "visual_description": asset.visual_description,
        "content_type": asset.content_type,
        "width": asset.width,
        "height": asset.height,
        "byte_size": asset.byte_size,
        "sha256": asset.sha256,
        "file_url": file_url.url,
        "thumbnail_url": asset_selectors.file_url_signed(asset.thumbnail).url if asset.thumbnail else file_url.url,
        "url_expires_at": file_url.expires_at,
        "source_url": asset.source_url,
        "provenance": asset.provenance,
        "license": asset.license,
        "created_at": asset.created_at,
        "updated_at": asset.updated_at,
    }
    if with_retired:
        data["retired_asset_id"] = retired.id if retired is not None else None
    return data


def visual_readiness_data(character: "Character", readiness: "VisualReadiness") -> dict:
    return {
        "character": character.slug,
        "ready": readiness.ready,
        "gates": {
            gate.name: {"state": "passed" if gate.ok else "missing", "missing": gate.missing or None}
            for gate in readiness.gates
        },
    }


def lorebook_character_data(
    character: "Character",
    own: "Lorebook | None",
    attached: "list[Lorebook]",
    *,
    own_entries: "list | None" = None,
    created_version: bool | None = None,
) -> dict:
    """A character's own book as a Card V2 ``character_book`` (an empty one when it has none) and its attached
    shared books by id and name (each annotated with its ``entry_count``)."""
    book = (
        character_selectors.lorebook_card(lorebook=own, entries=own_entries)
        if own is not None
        else {"name": "", "description": "", "extensions": {}, "entries": []}
    )
    version = character.current_version
    data = {"character": character.slug, "version_number": version.version_number if version else None}
    if created_version is not None:
        data["created_version"] = created_version
    data["character_book"] = book
    data["attached"] = [{"id": item.id, "name": item.name, "entries": item.entry_count} for item in attached]
    return data


def published_data(published: "dict") -> list[dict]:
    """What a lorebook write published: each character's slug, version number and whether it is new."""
    return sorted(
        (
            {
                "character": result.character.slug,
                "version_number": result.version.version_number,
                "created_version": result.created_version,
            }
            for character_id, result in published.items()
        ),
        key=lambda item: item["character"],
    )


def shared_lorebook_data(
    book: "Lorebook", *, entries: "list | None" = None, characters: "list[Character] | None" = None
) -> dict:
    """A shared book as ``{id, characters, character_book}``: its entries and characters as given (a write's
    rows), else prefetched."""
    characters = characters if characters is not None else list(book.characters.all())
    return {
        "id": book.id,
        "characters": sorted(character.slug for character in characters),
        "character_book": character_selectors.lorebook_card(lorebook=book, entries=entries),
    }


def shared_lorebook_summary(book: "Lorebook") -> dict:
    return {
        "id": book.id,
        "name": book.name,
        "description": book.description,
        "entries": len(book.entries.all()),
        "characters": [character.slug for character in book.characters.all()],
    }


def memory_fact_data(fact: "MemoryFact") -> dict:
    return {
        "id": fact.id,
        "text": fact.text,
        "key": fact.key,
        "origin": fact.origin,
        "source_session_id": fact.source_session_id,
        "source_cursor": fact.source_cursor,
        "valid_from": fact.valid_from,
        "valid_to": fact.valid_to,
    }


def memory_data(memory: MemoryView) -> dict:
    return {
        "session_id": memory.session_id,
        "memory_id": memory.memory_id,
        "summary": memory.summary,
        "summary_updated_at": memory.summary_updated_at,
        "blocks": [
            {"label": block["label"], "value": block["value"], "limit": block["limit"]} for block in memory.blocks
        ],
        "facts": [memory_fact_data(fact) for fact in memory.facts],
        "fact_count": memory.fact_count,
    }
