"""Budgets and the usage ledger: credits are reserved before a metered call and settled after it.

Every change to a budget counter is one conditional UPDATE (or an INSERT that ignores a conflict), so
concurrent reservations in one scope queue on that scope's counter row and can never take it over its
cap. Counters are locked in the order of their policies' ids, so two reservations never deadlock.
"""

import operator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import reduce

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from apps.accounts import errors, selectors
from apps.accounts.models import App, BudgetCounter, BudgetPolicy, UsageRecord
from apps.core import clock, metrics
from apps.core.compiled import CompiledInsert
from apps.core.errors import ValidationFailed

_USAGE_INSERT = CompiledInsert(UsageRecord)  # every settled call without a reservation: a hot path


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
    purpose: str = UsageRecord.Purpose.REPLY

    def record_fields(self) -> dict:
        """The ledger row's columns that name the work."""
        return {
            "app_id": self.app_id,
            "run_ref": self.run_ref,
            "session_id": self.session_id,
            "character": self.character,
            "external_user_ref": self.external_user_ref,
            "model": self.model,
            "provider": self.provider,
            "resource_type": self.resource_type,
            "purpose": self.purpose,
        }


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


def _counter_create(policy: BudgetPolicy, start, end) -> None:
    """Create the policy's counter for the period [start, end) unless it exists.

    A new counter starts from what the ledger already holds for the period, so a cap set mid-month
    counts the spending before it. Two reservations creating it at once both end up with the same row.
    """
    spent = selectors.usage_spent(policy=policy, start=start, end=end)
    counter = BudgetCounter(
        policy=policy, period_start=start.date(), limit_credits=_enforced_limit(policy), spent_credits=spent
    )
    BudgetCounter.objects.bulk_create([counter], ignore_conflicts=True)


def _hold(policy: BudgetPolicy, period_start: date, credits: Decimal) -> bool:
    """Add ``credits`` to the period's reservations if they fit under its limit; one statement decides.

    Fits means spent + reserved + credits <= limit, and something is left (spent + reserved < limit), so an
    exhausted budget refuses even work that costs nothing. False also when the counter does not exist yet.
    """
    room = F("limit_credits") - F("reserved_credits")
    fits = Q(limit_credits__isnull=True) | Q(spent_credits__lte=room - credits, spent_credits__lt=room)
    counter = BudgetCounter.objects.filter(fits, policy_id=policy.pk, period_start=period_start)
    return counter.update(reserved_credits=F("reserved_credits") + credits) == 1


def _exceeded(policy: BudgetPolicy, used: Decimal) -> errors.BudgetExceeded:
    if policy.period == BudgetPolicy.Period.LIFETIME:
        left = max(Decimal(0), policy.limit_credits - used)
        return errors.BalanceInsufficient(
            f"Insufficient account balance: {left.normalize():f} credits left, not enough for the next call."
        )
    scope = f"The end-user '{policy.external_user_ref}'" if policy.external_user_ref else "This app"
    what = "" if policy.resource_type == BudgetPolicy.ALL else f" on {policy.resource_type}"
    per = "today (UTC)" if policy.period == BudgetPolicy.Period.DAILY else "this month (UTC)"
    return errors.BudgetExceeded(
        f"{scope} has used {used.normalize():f} of its {policy.limit_credits.normalize():f} credits{what} {per}; "
        "the next turn does not fit under the hard cap."
    )


def usage_reserve(*, subject: UsageSubject, credits: Decimal, may_exist: bool = True) -> UsageRecord | None:
    """Hold ``credits`` on every budget that applies to ``subject`` and open its ledger row, committed
    before the work starts (what holds a hard cap under concurrency).

    Raises BudgetExceeded, having written nothing, when a hard budget has no room for them. Idempotent per
    ``run_ref``: a run taken over after its worker died keeps the reservation its first attempt made
    (``may_exist=False`` skips that lookup for a first attempt; the unique run_ref still guards it).
    Returns None, writing nothing, when no budget applies: ``usage_settle`` then writes the row, settled,
    in the transaction that records the outcome (one statement where a reservation would cost four).
    With one budget the reservation is a transaction of four statements (the counter's hold and the row).
    """
    if subject.run_ref and may_exist:
        existing = UsageRecord.objects.filter(run_ref=subject.run_ref, purpose=subject.purpose).first()
        if existing is not None:
            return existing
    policies = selectors.budget_policies_applicable(
        app_id=subject.app_id, external_user_ref=subject.external_user_ref, resource_type=subject.resource_type
    )
    if not policies:
        return None
    now = clock.now()
    with transaction.atomic():
        holds = []
        for policy in policies:  # id order: the lock order
            start, end = selectors.budget_period_bounds(period=policy.period, at=now)
            if not _hold(policy, start.date(), credits):
                if not BudgetCounter.objects.filter(policy=policy, period_start=start.date()).exists():
                    _counter_create(policy, start, end)  # the first reservation of the period
                if not _hold(policy, start.date(), credits):
                    counter = BudgetCounter.objects.get(policy=policy, period_start=start.date())
                    raise _exceeded(policy, counter.spent_credits + counter.reserved_credits)
            holds.append([policy.pk, start.date().isoformat(), str(credits)])
        return UsageRecord.objects.create(
            **subject.record_fields(),
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


def _warning_threshold(policy: BudgetPolicy) -> Decimal | None:
    threshold = policy.soft_limit_credits
    if threshold is None and policy.enforcement == BudgetPolicy.Enforcement.SOFT:
        threshold = policy.limit_credits
    return threshold


def _warnings_claim(counters: Q, now) -> list[BudgetWarning]:
    warnings = []
    for counter in BudgetCounter.objects.filter(counters, warned_at__isnull=True).select_related("policy"):
        policy = counter.policy
        threshold = _warning_threshold(policy)
        if threshold is None or counter.spent_credits < threshold:
            continue
        # The conditional UPDATE is the claim: of concurrent settlements, one reports the crossing.
        if BudgetCounter.objects.filter(pk=counter.pk, warned_at__isnull=True).update(warned_at=now):
            warnings.append(BudgetWarning(policy, counter.period_start, threshold, counter.spent_credits))
    return warnings


def _hold_counter(hold: list) -> Q:
    """The counter a ledger row's hold sits on: ``[policy id, period start, credits]`` (older rows:
    ``[counter id, credits]``)."""
    if len(hold) == 2:
        return Q(pk=hold[0])
    return Q(policy_id=hold[0], period_start=date.fromisoformat(hold[1]))


@dataclass(frozen=True)
class UsageCall:
    """One metered call to settle: its reservation (None when no budget applied, so none was made) or the
    subject to write a settled row for, and what the provider reported."""

    subject: UsageSubject
    reservation: UsageRecord | None
    reserved_credits: Decimal
    input_tokens: int
    output_tokens: int
    credits: Decimal
    outcome: str


def usage_settle_calls(*, calls: list[UsageCall]) -> Settlement:
    """Record what each call really cost and release the rest of its reservations; once per call.

    Call it in the transaction that records the work's outcome, so the ledger and the outcome commit
    together. Calls without a reservation are written settled in one statement; each reserved one costs
    an UPDATE of its row and one per budget it held. Only budgets with a warning threshold are read back
    for ``budget.warning``. Returns the first call's row and the warnings this settlement triggered.
    """
    now = clock.now()
    fresh = [
        UsageRecord(
            **call.subject.record_fields(),
            status=UsageRecord.Status.SETTLED,
            outcome=call.outcome,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            reserved_credits=call.reserved_credits,
            credits=call.credits,
            created_at=now,
            settled_at=now,
        )
        for call in calls
        if call.reservation is None
    ]
    records = _USAGE_INSERT.insert(fresh)
    spend: dict[tuple, list] = {}  # counter -> [held, spent]
    for call in calls:
        record = call.reservation
        if record is None:
            _call_count(call)
            continue
        changes = {
            "status": UsageRecord.Status.SETTLED,
            "outcome": call.outcome,
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "credits": call.credits,
            "settled_at": now,
        }
        if call.subject.model:
            changes["model"] = call.subject.model
        if not UsageRecord.objects.filter(pk=record.pk, status=UsageRecord.Status.RESERVED).update(**changes):
            continue  # settled already
        _call_count(call)
        records.append(record)
        for hold in record.holds:
            key = tuple(hold[:-1])
            entry = spend.setdefault(key, [hold, Decimal(0), Decimal(0)])
            entry[1] += Decimal(hold[-1])
            entry[2] += call.credits
    for hold, held, spent in sorted(spend.values(), key=lambda entry: [str(part) for part in entry[0]]):
        BudgetCounter.objects.filter(_hold_counter(hold)).update(
            reserved_credits=F("reserved_credits") - held, spent_credits=F("spent_credits") + spent
        )
    return Settlement(records[0] if records else None, _settlement_warnings(calls, spend, now))


def _call_count(call: UsageCall) -> None:
    # Every metered call is settled here exactly once, so this is where calls and tokens are counted.
    metrics.model_call_metered(
        purpose=call.subject.purpose,
        outcome=call.outcome,
        prompt_tokens=call.input_tokens,
        completion_tokens=call.output_tokens,
    )


def _settlement_warnings(calls: list[UsageCall], spend: dict, now) -> list[BudgetWarning]:
    if not spend:
        return []
    policies = selectors.budget_policies_of(app_id=calls[0].subject.app_id)
    thresholds = {policy.pk for policy in policies if _warning_threshold(policy) is not None}
    # A hold in the older form names only its counter, so it is always looked at.
    watched = [_hold_counter(hold) for hold, _, _ in spend.values() if len(hold) == 2 or hold[0] in thresholds]
    return _warnings_claim(reduce(operator.or_, watched), now) if watched else []


def usage_settle(
    *, run_ref: str, input_tokens: int, output_tokens: int, credits: Decimal, outcome: str, model: str = ""
) -> Settlement:
    """Settle the reservation of ``run_ref`` with what the provider reported; once per run. A run that never
    reserved (refused, or no budget applied) has nothing to settle here: see ``usage_settle_calls``."""
    record = UsageRecord.objects.filter(run_ref=run_ref, status=UsageRecord.Status.RESERVED).first()
    if record is None:
        return Settlement(None)
    subject = UsageSubject(app_id=record.app_id, resource_type=record.resource_type, run_ref=run_ref, model=model)
    call = UsageCall(subject, record, record.reserved_credits, input_tokens, output_tokens, credits, outcome)
    return usage_settle_calls(calls=[call])


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
    if period == BudgetPolicy.Period.LIFETIME:
        raise ValidationFailed({"period": ["Budgets are daily or monthly; the lifetime one is the balance."]})
    scope = {"app": app, "external_user_ref": external_user_ref, "resource_type": resource_type}
    recurring = BudgetPolicy.objects.exclude(period=BudgetPolicy.Period.LIFETIME)
    policy = recurring.select_for_update().filter(**scope).first()
    if policy is None:
        try:
            with transaction.atomic():
                created = BudgetPolicy.objects.create(**scope, **values)
            selectors.BUDGET_POLICIES.bump(scope=app.pk)
            return created
        except IntegrityError:  # set at the same moment by another request: update that one
            policy = recurring.select_for_update().get(**scope)
    selectors.BUDGET_POLICIES.bump(scope=app.pk)
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
    policies = BudgetPolicy.objects.filter(app=app, external_user_ref=external_user_ref).exclude(
        period=BudgetPolicy.Period.LIFETIME  # the balance is the operator's: services.balance
    )
    if resource_type is not None:
        policies = policies.filter(resource_type=resource_type)
    _, deleted = policies.delete()
    selectors.BUDGET_POLICIES.bump(scope=app.pk)
    return deleted.get(BudgetPolicy._meta.label, 0)
