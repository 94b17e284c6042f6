"""The app's credit balance: one more hard budget in the same ledger, with a period that never resets.

A balance is the app's ``lifetime`` BudgetPolicy and its single counter. Work reserves against it before a
model call and settles after it exactly like any budget (``usage_reserve``/``usage_settle_calls``), so
concurrent calls can never take it below zero and a call that does not fit is refused with 402
``insufficient_balance`` before it starts. Topping up raises the counter's limit in one UPDATE; the
remaining balance is always limit - spent - reserved. These services are the operator's (the admin, the
``balance`` management command): an integrator can read the balance (GET /v1/account) but not change it.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from apps.accounts import selectors
from apps.accounts.models import App, BudgetCounter, BudgetPolicy
from apps.core.errors import ValidationFailed

_LIFETIME = BudgetPolicy.Period.LIFETIME


def _balance_locked(app: App) -> BudgetPolicy | None:
    """The app's balance policy, after locking the app's row: balance changes of one app queue up here."""
    App.objects.select_for_update().filter(pk=app.pk).exists()
    return BudgetPolicy.objects.filter(app=app, period=_LIFETIME).first()


def _open(app: App, credits: Decimal) -> None:
    policy = BudgetPolicy.objects.create(
        app=app,
        external_user_ref="",
        resource_type=BudgetPolicy.ALL,
        period=_LIFETIME,
        limit_credits=credits,
        enforcement=BudgetPolicy.Enforcement.HARD,
    )
    # Opened here, from zero: what the app spent before it had a balance does not count against it.
    BudgetCounter.objects.create(
        policy=policy, period_start=selectors.LIFETIME_START.date(), limit_credits=credits, spent_credits=0
    )


def _positive(credits: Decimal, field: str = "credits") -> None:
    if credits <= 0:
        raise ValidationFailed({field: ["Must be more than zero."]})


@transaction.atomic
def app_balance_top_up(*, app: App, credits: Decimal) -> selectors.BalanceStatus:
    """Add ``credits`` to the app's balance (opening one, from zero, if it has none); returns the new balance.

    Calls in flight keep their reservations; the next reservation sees the new room at once.
    """
    _positive(credits)
    policy = _balance_locked(app)
    if policy is None:
        _open(app, credits)
    else:
        BudgetPolicy.objects.filter(pk=policy.pk).update(limit_credits=F("limit_credits") + credits)
        BudgetCounter.objects.filter(policy=policy).update(limit_credits=F("limit_credits") + credits)
    selectors.BUDGET_POLICIES.bump(scope=app.pk)
    return selectors.app_balance(app=app)


@transaction.atomic
def app_balance_set(*, app: App, remaining_credits: Decimal) -> selectors.BalanceStatus:
    """Make what is left of the app's balance exactly ``remaining_credits`` (0 stops all metered work)."""
    if remaining_credits < 0:
        raise ValidationFailed({"remaining_credits": ["Must be zero or more."]})
    policy = _balance_locked(app)
    if policy is None:
        _open(app, remaining_credits)
    else:
        counter = BudgetCounter.objects.select_for_update().get(policy=policy)
        limit = counter.spent_credits + counter.reserved_credits + remaining_credits
        BudgetCounter.objects.filter(pk=counter.pk).update(limit_credits=limit)
        BudgetPolicy.objects.filter(pk=policy.pk).update(limit_credits=limit)
    selectors.BUDGET_POLICIES.bump(scope=app.pk)
    return selectors.app_balance(app=app)


@transaction.atomic
def app_balance_clear(*, app: App) -> bool:
    """Remove the app's balance: its spending is no longer limited by one. True if it had one."""
    policy = _balance_locked(app)
    if policy is None:
        return False
    policy.delete()  # its counter goes with it; reservations in flight settle into nothing
    selectors.BUDGET_POLICIES.bump(scope=app.pk)
    return True
