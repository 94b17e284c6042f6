"""Helpers for the native surface's contract tests: the error body and "nothing was written"."""

from django.db.models import F, Sum

from apps.accounts.models import ApiKey, App, BudgetCounter, BudgetPolicy, UsageRecord
from apps.assets.models import VisualAsset
from apps.characters.models import Character, CharacterVersion, Lorebook, LorebookEntry
from apps.conversations.models import Event, IdempotencyRecord, ProactiveSend, Run, Session
from apps.delivery.models import (
    TelegramChannel,
    TelegramChat,
    TelegramDelivery,
    TelegramUpdate,
    WebhookDelivery,
    WebhookEndpoint,
)

WRITTEN_MODELS = (
    App,
    ApiKey,
    Character,
    CharacterVersion,
    Lorebook,
    LorebookEntry,
    Lorebook.characters.through,
    Session,
    Event,
    Run,
    IdempotencyRecord,
    ProactiveSend,
    TelegramChannel,
    TelegramChat,
    TelegramUpdate,
    TelegramDelivery,
    UsageRecord,
    BudgetPolicy,
    BudgetCounter,
    WebhookEndpoint,
    WebhookDelivery,
    VisualAsset,
)


def assert_error(response, status: int, code: str, *, fields: list[str] | None = None) -> dict:
    """The native error contract: the status, ``{"detail": {code, message, fix}}`` and, for
    validation errors, ``fields`` naming exactly the bad fields."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail["code"] == code, detail
    assert isinstance(detail["message"], str) and detail["message"]
    assert isinstance(detail["fix"], str) and detail["fix"]
    if fields is not None:
        assert sorted(detail["fields"]) == sorted(fields), detail
        assert all(isinstance(problems, list) and problems for problems in detail["fields"].values())
    return detail


def row_counts() -> dict[str, int]:
    """How many rows each writable table holds, plus the sessions' cursors (which a failed send must not move)."""
    counts = {model.__name__: model.objects.count() for model in WRITTEN_MODELS}
    counts["session_cursors"] = sum(Session.objects.values_list("last_cursor", flat=True))
    # A reservation or settlement moves budget counters without adding rows.
    held = BudgetCounter.objects.aggregate(total=Sum(F("spent_credits") + F("reserved_credits")))["total"]
    counts["budget_credits"] = str(held or 0)
    return counts


def quota_counters() -> list[tuple]:
    return list(App.objects.order_by("pk").values_list("pk", "characters_used", "sessions_used", "user_messages_used"))
