"""Reads for accounts: resolving a presented key to its app, the usage ledger and budgets."""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.core import signing
from django.db.models import Count, Sum

from apps.accounts import errors
from apps.accounts.models import ApiKey, App, AppStaff, BudgetCounter, BudgetPolicy, Plan, UsageRecord
from apps.core import clock
from apps.core.generations import Generation, GenerationRead

# Keys verified in this process in the last API_KEY_CACHE_SECONDS, by digest of the whole presented key.
# Every request authenticates, and the lookup is a query plus two model instances; this keeps it off the
# hot path. Revocation and expiry are re-checked on every hit against the cached row; a revocation made in
# another process takes effect here within the TTL, one made here at once (api_key_cache_forget).
_verified: dict[str, tuple[float, ApiKey]] = {}
_verified_lock = threading.Lock()
_VERIFIED_MAX = 10_000

KEY_SCHEME = "drm"
STREAM_TOKEN_SALT = "dramatis.accounts.stream-token"
# "session": the native event stream (SSE); "persona": the emotion surface's WebSocket.
StreamKind = Literal["session", "persona"]


def secret_digest(secret: str) -> str:
    """SHA-256 is right for keys with 160+ random bits; a slow password hash would only cost latency."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_cache_forget(*, api_key_id: str) -> None:
    """Drop a key from this process's cache of verified keys (after it was revoked or changed here)."""
    with _verified_lock:
        for digest in [digest for digest, (_, key) in _verified.items() if key.pk == api_key_id]:
            del _verified[digest]


def api_key_cache_forget_app(*, app_id: str) -> None:
    """Drop the app's keys from this process's cache (its plan changed)."""
    with _verified_lock:
        for digest in [digest for digest, (_, key) in _verified.items() if key.app_id == app_id]:
            del _verified[digest]


def api_key_cache_forget_plan(*, plan_id: int) -> None:
    """Drop the keys of the plan's apps from this process's cache (the plan's limits changed)."""
    with _verified_lock:
        for digest in [digest for digest, (_, key) in _verified.items() if key.app.plan_id == plan_id]:
            del _verified[digest]


def _lookup(raw_key: str) -> ApiKey:
    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        raise errors.ApiKeyInvalid("The API key is not valid.")
    prefix = f"{parts[0]}_{parts[1]}"
    key = ApiKey.objects.select_related("app__plan").filter(prefix=prefix).first()  # the plan rides along
    if key is None or not hmac.compare_digest(key.secret_hash, secret_digest(parts[2])):
        raise errors.ApiKeyInvalid("The API key is not valid.")
    return key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """Return the live key (with its app loaded) for ``raw_key``.

    Raises ApiKeyInvalid for unknown or malformed keys, ApiKeyRevoked and ApiKeyExpired otherwise.
    Verified keys are cached in-process for ``API_KEY_CACHE_SECONDS`` (unknown keys never are).
    """
    ttl = settings.API_KEY_CACHE_SECONDS
    digest = secret_digest(raw_key)
    now = time.monotonic()
    cached = _verified.get(digest) if ttl > 0 else None
    if cached is not None and cached[0] > now:
        key = cached[1]
    else:
        key = _lookup(raw_key)
        if ttl > 0:
            with _verified_lock:
                if len(_verified) >= _VERIFIED_MAX:  # keep memory bounded: drop what has expired
                    for stale in [d for d, (until, _) in _verified.items() if until <= now]:
                        del _verified[stale]
                _verified[digest] = (now + ttl, key)
    if key.revoked_at is not None:
        raise errors.ApiKeyRevoked("The API key was revoked.")
    if key.expires_at is not None and key.expires_at <= clock.now():
        raise errors.ApiKeyExpired("The API key has expired.")
    return key


def stream_token_app(*, token: str, session_id: str, kind: StreamKind) -> App:
    """The app a stream token was minted by, if it is genuine, unexpired and for this very stream.

    Raises StreamTokenExpired, or StreamTokenInvalid for anything forged, mangled or minted for another
    session or kind of stream (an API key passed as a token is refused the same way).
    """
    try:
        claims = signing.loads(token, salt=STREAM_TOKEN_SALT, max_age=settings.STREAM_TOKEN_TTL_SECONDS)
    except signing.SignatureExpired:
        raise errors.StreamTokenExpired("The stream token has expired.") from None
    except signing.BadSignature:
        raise errors.StreamTokenInvalid("The stream token is not valid.") from None
    if not isinstance(claims, dict) or claims.get("session") != session_id or claims.get("kind") != kind:
        raise errors.StreamTokenInvalid("The stream token was minted for another stream.")
    app = App.objects.filter(pk=claims.get("app")).first()
    if app is None:
        raise errors.StreamTokenInvalid("The app that minted this stream token no longer exists.")
    return app


def app_get(*, app: App, app_id: str) -> App:
    """The caller's own app when ``app_id`` names it; any other id (another app's too) raises AppNotFound."""
    if app_id != app.pk:
        raise errors.AppNotFound(f"No app with id '{app_id}'.")
    return app


# --- staff bound to an app --------------------------------------------------------------------------
_STAFF_APP_ATTR = "_dramatis_staff_app_id"


def app_staff_app_id(*, user) -> str | None:
    """The id of the app ``user`` is bound to (``services.app_staff_bind``), None when unbound or anonymous.

    The admin asks on every scoped query of a request, so the answer is kept on the user object, which lives
    as long as the request (one query per request at most).
    """
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(user, _STAFF_APP_ATTR):
        app_id = AppStaff.objects.filter(user_id=user.pk).values_list("app_id", flat=True).first()
        setattr(user, _STAFF_APP_ATTR, app_id)
    return getattr(user, _STAFF_APP_ATTR)


def app_staff_app(*, user) -> App | None:
    """The app ``user`` is bound to, None when unbound or anonymous (one query)."""
    if user is None or not user.is_authenticated:
        return None
    binding = AppStaff.objects.select_related("app__plan").filter(user_id=user.pk).first()
    return binding.app if binding is not None else None


def app_list_all() -> list[App]:
    """Every app, by name: for superusers, who may act for any of them (the playground's app picker)."""
    return list(App.objects.order_by("name", "id"))


def app_by_id_get(*, app_id: str) -> App:
    """Any app by id, for superusers (API keys use ``app_get``, which sees only the caller's). Raises AppNotFound."""
    app = App.objects.select_related("plan").filter(pk=app_id).first()
    if app is None:
        raise errors.AppNotFound(f"No app with id '{app_id}'.")
    return app


# --- usage ledger ------------------------------------------------------------------------------------
# The dimensions GET /v1/usage groups by, and the ledger column behind each.
USAGE_GROUP_COLUMNS = {
    "model": "model",
    "provider": "provider",
    "character": "character",
    "session": "session_id",
    "external_user": "external_user_ref",
    "resource_type": "resource_type",
}


@dataclass(frozen=True)
class UsageTotals:
    key: str | None
    records: int
    input_tokens: int
    output_tokens: int
    credits: Decimal


@dataclass(frozen=True)
class UsageReport:
    totals: UsageTotals
    groups: list[UsageTotals]
    truncated: bool


def _totals(key: str | None, row: dict) -> UsageTotals:
    return UsageTotals(
        key=key,
        records=row["records"] or 0,
        input_tokens=row["input_tokens"] or 0,
        output_tokens=row["output_tokens"] or 0,
        credits=row["credits"] or Decimal(0),
    )


_SUMS = {
    "records": Count("id"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "credits": Sum("credits"),
}


def usage_report(
    *,
    app: App,
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: str | None = None,
    filters: dict[str, str] | None = None,
    limit: int = 100,
) -> UsageReport:
    """Settled usage of ``app`` in [start, end): totals, and per ``group_by`` value (most credits first).

    ``filters`` maps dimensions of USAGE_GROUP_COLUMNS to a value. Sums and groups are computed by the
    database over the app's settled rows in the range (index ``usage_app_time``).
    """
    rows = UsageRecord.objects.filter(app=app, status=UsageRecord.Status.SETTLED)
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    for dimension, value in (filters or {}).items():
        rows = rows.filter(**{USAGE_GROUP_COLUMNS[dimension]: value})
    totals = _totals(None, rows.aggregate(**_SUMS))
    groups: list[UsageTotals] = []
    truncated = False
    if group_by is not None:
        column = USAGE_GROUP_COLUMNS[group_by]
        grouped = list(rows.order_by().values(column).annotate(**_SUMS).order_by("-credits", column)[: limit + 1])
        truncated = len(grouped) > limit
        groups = [_totals(row[column], row) for row in grouped[:limit]]
    return UsageReport(totals=totals, groups=groups, truncated=truncated)


def usage_by_run(*, app_id: str, run_refs: list[str]) -> dict[str, UsageRecord]:
    """The ledger rows of these runs (reserved or settled), by run_ref; runs without one are absent."""
    refs = [ref for ref in run_refs if ref]
    if not refs:
        return {}
    rows = UsageRecord.objects.filter(app_id=app_id, run_ref__in=refs, purpose=UsageRecord.Purpose.REPLY)
    return {row.run_ref: row for row in rows}


def usage_calls_by_run(*, app_id: str, run_refs: list[str]) -> dict[str, list[UsageRecord]]:
    """Every ledger row of these runs, one per model call (the emotion appraisal before the reply), by run_ref."""
    refs = [ref for ref in run_refs if ref]
    calls: dict[str, list[UsageRecord]] = {}
    if refs:
        for row in UsageRecord.objects.filter(app_id=app_id, run_ref__in=refs).order_by("created_at", "purpose"):
            calls.setdefault(row.run_ref, []).append(row)
    return calls


# --- budgets -----------------------------------------------------------------------------------------
# The one "period" of the lifetime budget (the balance): its counter's period_start, and the end of time.
LIFETIME_START = datetime(1970, 1, 1, tzinfo=UTC)
LIFETIME_END = datetime(9999, 12, 31, tzinfo=UTC)


def budget_period_bounds(*, period: str, at: datetime) -> tuple[datetime, datetime]:
    """The UTC day or month around ``at``, as [start, end); all of time for the lifetime period (the balance)."""
    if period == BudgetPolicy.Period.LIFETIME:
        return LIFETIME_START, LIFETIME_END
    day = at.astimezone(UTC).date()
    if period == BudgetPolicy.Period.DAILY:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1)
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


def usage_spent(*, policy: BudgetPolicy, start: datetime, end: datetime) -> Decimal:
    """What the policy's scope spent in [start, end), from the ledger."""
    rows = UsageRecord.objects.filter(
        app_id=policy.app_id, status=UsageRecord.Status.SETTLED, created_at__gte=start, created_at__lt=end
    )
    if policy.external_user_ref:
        rows = rows.filter(external_user_ref=policy.external_user_ref)
    if policy.resource_type != BudgetPolicy.ALL:
        rows = rows.filter(resource_type=policy.resource_type)
    return rows.aggregate(total=Sum("credits"))["total"] or Decimal(0)


# Every app's budget policies, cached for all processes until the budget services bump the app's scope.
BUDGET_POLICIES = Generation("budget-policies")


def budget_policies_of(*, app_id: str) -> list[BudgetPolicy]:
    """All of the app's budgets in id order: one shared-cache round trip on the hot path (most apps: none)."""
    return BUDGET_POLICIES.get(lambda: list(BudgetPolicy.objects.filter(app_id=app_id).order_by("pk")), scope=app_id)


def budget_policies_read(*, app_id: str) -> GenerationRead:
    """The cache read of the app's budgets, for ``core.generations.generations_read_ahead``."""
    return BUDGET_POLICIES.read(scope=app_id)


def budget_policies_applicable(*, app_id: str, external_user_ref: str, resource_type: str) -> list[BudgetPolicy]:
    """The app-wide and the end-user's budgets that count ``resource_type``, in id order (the lock order)."""
    return [
        policy
        for policy in budget_policies_of(app_id=app_id)
        if policy.external_user_ref in {"", external_user_ref}
        and policy.resource_type in {BudgetPolicy.ALL, resource_type}
    ]


def budget_policies_exist(*, app: App) -> bool:
    return bool(budget_policies_of(app_id=app.pk))


@dataclass(frozen=True)
class BudgetStatus:
    """A policy with where its scope stands in the current period."""

    policy: BudgetPolicy
    period_start: datetime
    period_end: datetime
    spent_credits: Decimal
    reserved_credits: Decimal

    @property
    def remaining_credits(self) -> Decimal:
        return max(Decimal(0), self.policy.limit_credits - self.spent_credits - self.reserved_credits)


def budget_status(*, policy: BudgetPolicy, at: datetime | None = None) -> BudgetStatus:
    at = at or clock.now()
    start, end = budget_period_bounds(period=policy.period, at=at)
    counter = BudgetCounter.objects.filter(policy=policy, period_start=start.date()).first()
    if counter is None:  # nothing reserved in this period yet: the ledger has the truth
        return BudgetStatus(policy, start, end, usage_spent(policy=policy, start=start, end=end), Decimal(0))
    return BudgetStatus(policy, start, end, counter.spent_credits, counter.reserved_credits)


def budget_used(*, policy: BudgetPolicy, at: datetime) -> Decimal:
    """Spent plus reserved in the current period."""
    status = budget_status(policy=policy, at=at)
    return status.spent_credits + status.reserved_credits


def budget_statuses(*, app: App, external_user_ref: str = "") -> list[BudgetStatus]:
    """The scope's policies (the app's own when ``external_user_ref`` is empty) with their current period."""
    now = clock.now()
    policies = BudgetPolicy.objects.filter(app=app, external_user_ref=external_user_ref).order_by("resource_type")
    policies = policies.exclude(period=BudgetPolicy.Period.LIFETIME)  # the balance has its own read: app_balance
    return [budget_status(policy=policy, at=now) for policy in policies]


# --- plans and the balance -------------------------------------------------------------------------------
def app_requests_per_minute(*, app: App) -> int | None:
    """How many requests each key of ``app`` may make in any minute; None (no plan) is no limit.

    No query when the app came with its key (``api_key_authenticate`` loads the plan in the same statement).
    """
    if app.plan_id is None:
        return None
    return app.plan.requests_per_minute


def plan_get(*, slug: str) -> Plan | None:
    return Plan.objects.filter(slug=slug).first()


@dataclass(frozen=True)
class BalanceStatus:
    """An app's credit balance: everything topped up (``credited``), what was spent and is held by calls in
    flight, and what is left for new work."""

    credited_credits: Decimal
    spent_credits: Decimal
    reserved_credits: Decimal

    @property
    def remaining_credits(self) -> Decimal:
        return max(Decimal(0), self.credited_credits - self.spent_credits - self.reserved_credits)


def app_balance(*, app: App) -> BalanceStatus | None:
    """The app's balance, None when it has none (no balance: spending is not limited by one)."""
    policy = next((p for p in budget_policies_of(app_id=app.pk) if p.period == BudgetPolicy.Period.LIFETIME), None)
    if policy is None:
        return None
    counter = BudgetCounter.objects.filter(policy_id=policy.pk, period_start=LIFETIME_START.date()).first()
    if counter is None:  # the policy was just removed, or is being created: nothing spent against it yet
        return BalanceStatus(policy.limit_credits, Decimal(0), Decimal(0))
    return BalanceStatus(counter.limit_credits or Decimal(0), counter.spent_credits, counter.reserved_credits)
