"""Budgets and the usage ledger: credits are reserved before a metered call and settled after it.

Every change to a budget counter is one conditional UPDATE (or an INSERT that ignores a conflict), so
concurrent reservations in one scope queue on that scope's counter row and can never take it over its
cap. Counters are locked in the order of their policies' ids, so two reservations never deadlock.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from apps.accounts import errors, selectors
from apps.accounts.models import App, BudgetCounter, BudgetPolicy, UsageRecord
from apps.core import clock


@dataclass(frozen=True)
class UsageSubject:
    """What a metered piece of work is and whom it serves: named on its ledger row, and what decides
    which budgets apply (the app's, and its end-user's)."""

    app_id: str
    resource_type: str
    external_user_ref: str = ""
    session_id: str = ""
    character: str = ""
    run_ref: str = ""
    model: str = ""
    provider: str = ""


@dataclass(frozen=True)
class BudgetWarning:
    """A budget's scope crossed its warning threshold in this period (reported once per period)."""

    policy: BudgetPolicy
    period_start: date
    threshold: Decimal
    spent_credits: Decimal


@dataclass(frozen=True)
class Settlement:
    record: UsageRecord | None
    warnings: list[BudgetWarning] = field(default_factory=list)


def _enforced_limit(policy: BudgetPolicy) -> Decimal | None:
    return policy.limit_credits if policy.enforcement == BudgetPolicy.Enforcement.HARD else None


def _counter_id(policy: BudgetPolicy, now) -> int:
    """The id of the policy's counter for the period around ``now``, created on first use.

    A new counter starts from what the ledger already holds for the period, so a cap set mid-month
    counts the spending before it. Two reservations creating it at once both end up with the same row.
    """
    start, end = selectors.budget_period_bounds(period=policy.period, at=now)
    rows = BudgetCounter.objects.filter(policy=policy, period_start=start.date())
    found = rows.values_list("pk", flat=True).first()
    if found is not None:
        return found
    spent = selectors.usage_spent(policy=policy, start=start, end=end)
    counter = BudgetCounter(
        policy=policy, period_start=start.date(), limit_credits=_enforced_limit(policy), spent_credits=spent
    )
    BudgetCounter.objects.bulk_create([counter], ignore_conflicts=True)
    return rows.values_list("pk", flat=True).get()


def _hold(counter_id: int, credits: Decimal) -> bool:
    """Add ``credits`` to the counter's reservations if they fit under its limit; one statement decides.

    Fits means spent + reserved + credits <= limit, and something is left (spent + reserved < limit), so an
    exhausted budget refuses even work that costs nothing.
    """
    room = F("limit_credits") - F("reserved_credits")
    fits = Q(limit_credits__isnull=True) | Q(spent_credits__lte=room - credits, spent_credits__lt=room)
    updated = BudgetCounter.objects.filter(fits, pk=counter_id).update(reserved_credits=F("reserved_credits") + credits)
    return updated == 1


def _exceeded(policy: BudgetPolicy, used: Decimal) -> errors.BudgetExceeded:
    scope = f"The end-user '{policy.external_user_ref}'" if policy.external_user_ref else "This app"
    what = "" if policy.resource_type == BudgetPolicy.ALL else f" on {policy.resource_type}"
    per = "today (UTC)" if policy.period == BudgetPolicy.Period.DAILY else "this month (UTC)"
    return errors.BudgetExceeded(
        f"{scope} has used {used.normalize():f} of its {policy.limit_credits.normalize():f} credits{what} {per}; "
        "the next turn does not fit under the hard cap."
    )


@transaction.atomic
def usage_reserve(*, subject: UsageSubject, credits: Decimal, may_exist: bool = True) -> UsageRecord:
    """Hold ``credits`` on every budget that applies to ``subject`` and open its ledger row.

    Raises BudgetExceeded, having written nothing, when a hard budget has no room for them. Idempotent per
    ``run_ref``: a run taken over after its worker died keeps the reservation its first attempt made
    (``may_exist=False`` skips that lookup for a first attempt; the unique run_ref still guards it).
    """
    if subject.run_ref and may_exist:
        existing = UsageRecord.objects.filter(run_ref=subject.run_ref).first()
        if existing is not None:
            return existing
    now = clock.now()
    holds = []
    for policy in selectors.budget_policies_applicable(
        app_id=subject.app_id, external_user_ref=subject.external_user_ref, resource_type=subject.resource_type
    ):
        counter_id = _counter_id(policy, now)
        if not _hold(counter_id, credits):
            counter = BudgetCounter.objects.get(pk=counter_id)
            raise _exceeded(policy, counter.spent_credits + counter.reserved_credits)
        holds.append([counter_id, str(credits)])
    return UsageRecord.objects.create(
        app_id=subject.app_id,
        run_ref=subject.run_ref,
        session_id=subject.session_id,
        character=subject.character,
        external_user_ref=subject.external_user_ref,
        model=subject.model,
        provider=subject.provider,
        resource_type=subject.resource_type,
        reserved_credits=credits,
        holds=holds,
        created_at=now,
    )


def budget_preflight(*, app: App, external_user_ref: str, resource_type: str, credits: Decimal) -> None:
    """Raise BudgetExceeded if a hard budget has no room for ``credits`` now; writes nothing.

    A check ahead of the work (so a send can answer 402 before anything is written); what actually holds
    the cap under concurrency is the reservation the work itself makes with ``usage_reserve``.
    """
    now = clock.now()
    for policy in selectors.budget_policies_applicable(
        app_id=app.pk, external_user_ref=external_user_ref, resource_type=resource_type
    ):
        if policy.enforcement != BudgetPolicy.Enforcement.HARD:
            continue
        used = selectors.budget_used(policy=policy, at=now)
        if used >= policy.limit_credits or used + credits > policy.limit_credits:
            raise _exceeded(policy, used)


def _warnings_claim(counter_ids: list[int], now) -> list[BudgetWarning]:
    warnings = []
    for counter in BudgetCounter.objects.filter(pk__in=counter_ids, warned_at__isnull=True).select_related("policy"):
        policy = counter.policy
        threshold = policy.soft_limit_credits
        if threshold is None and policy.enforcement == BudgetPolicy.Enforcement.SOFT:
            threshold = policy.limit_credits
        if threshold is None or counter.spent_credits < threshold:
            continue
        # The conditional UPDATE is the claim: of concurrent settlements, one reports the crossing.
        if BudgetCounter.objects.filter(pk=counter.pk, warned_at__isnull=True).update(warned_at=now):
            warnings.append(BudgetWarning(policy, counter.period_start, threshold, counter.spent_credits))
    return warnings


def usage_settle(
    *, run_ref: str, input_tokens: int, output_tokens: int, credits: Decimal, outcome: str, model: str = ""
) -> Settlement:
    """Record what the run really cost and release the rest of its reservation; once per run.

    Call it in the transaction that records the run's outcome, so the ledger and the outcome commit
    together. Returns the warnings this settlement triggered (soft thresholds crossed). A run that never
    reserved (refused, or metering was off) has nothing to settle.
    """
    now = clock.now()
    changes = {
        "status": UsageRecord.Status.SETTLED,
        "outcome": outcome,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "credits": credits,
        "settled_at": now,
    }
    if model:
        changes["model"] = model
    if not UsageRecord.objects.filter(run_ref=run_ref, status=UsageRecord.Status.RESERVED).update(**changes):
        return Settlement(None)
    record = UsageRecord.objects.get(run_ref=run_ref)
    for counter_id, held in sorted(record.holds):
        BudgetCounter.objects.filter(pk=counter_id).update(
            reserved_credits=F("reserved_credits") - Decimal(held), spent_credits=F("spent_credits") + credits
        )
    return Settlement(record, _warnings_claim([counter_id for counter_id, _ in record.holds], now))


@transaction.atomic
def budget_policy_set(
    *,
    app: App,
    limit_credits: Decimal,
    external_user_ref: str = "",
    resource_type: str = BudgetPolicy.ALL,
    period: str = BudgetPolicy.Period.MONTHLY,
    enforcement: str = BudgetPolicy.Enforcement.HARD,
    soft_limit_credits: Decimal | None = None,
) -> BudgetPolicy:
    """Create or replace the budget of the app (``external_user_ref`` empty) or of one end-user.

    Takes effect for the next reservation; what is already reserved stays reserved. Changing the period
    starts counting afresh from the ledger.
    """
    if app.is_sandbox:
        raise errors.DemoKeySurfaceDisabled("Sandbox apps cannot change budgets.")
    values = {
        "limit_credits": limit_credits,
        "period": period,
        "enforcement": enforcement,
        "soft_limit_credits": soft_limit_credits,
    }
    scope = {"app": app, "external_user_ref": external_user_ref, "resource_type": resource_type}
    policy = BudgetPolicy.objects.select_for_update().filter(**scope).first()
    if policy is None:
        try:
            with transaction.atomic():
                return BudgetPolicy.objects.create(**scope, **values)
        except IntegrityError:  # set at the same moment by another request: update that one
            policy = BudgetPolicy.objects.select_for_update().get(**scope)
    period_changed = policy.period != period
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    if period_changed:
        policy.counters.all().delete()
    else:
        policy.counters.update(limit_credits=_enforced_limit(policy), warned_at=None)
    return policy


def budget_policy_clear(*, app: App, external_user_ref: str = "", resource_type: str | None = None) -> int:
    """Remove the scope's budget for ``resource_type`` (every resource type when None); returns how many."""
    if app.is_sandbox:
        raise errors.DemoKeySurfaceDisabled("Sandbox apps cannot change budgets.")
    policies = BudgetPolicy.objects.filter(app=app, external_user_ref=external_user_ref)
    if resource_type is not None:
        policies = policies.filter(resource_type=resource_type)
    _, deleted = policies.delete()
    return deleted.get(BudgetPolicy._meta.label, 0)
