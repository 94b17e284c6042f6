"""Plans (which request limit an app's keys have) and the balance (a lifetime hard budget in the ledger)."""

from decimal import Decimal

import pytest

from apps.accounts import selectors, services
from apps.accounts.errors import BalanceInsufficient, BudgetExceeded
from apps.accounts.models import BudgetCounter, BudgetPolicy, Plan, UsageRecord
from apps.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def _subject(app, run_ref: str, external_user_ref: str = "") -> services.UsageSubject:
    return services.UsageSubject(
        app_id=app.pk, resource_type="chat_turn", run_ref=run_ref, external_user_ref=external_user_ref
    )


def _settle(run_ref: str, credits: str) -> None:
    services.usage_settle(
        run_ref=run_ref, input_tokens=10, output_tokens=10, credits=Decimal(credits), outcome="succeeded"
    )


# --- plans -------------------------------------------------------------------------------------------------
def test_the_migration_creates_the_default_plans():
    plans = {plan.slug: plan.requests_per_minute for plan in Plan.objects.all()}
    assert plans == {"free": 5, "pro": 100, "sandbox": 120}


def test_sandbox_apps_get_the_sandbox_plan_and_other_apps_none(settings):
    settings.DEMO_SANDBOX_ENABLED = True
    sandbox = services.sandbox_issue(client_address="127.0.0.1").api_key.app
    assert sandbox.plan.slug == "sandbox"
    assert selectors.app_requests_per_minute(app=sandbox) == 120
    plain = services.app_create(name="plain")
    assert plain.plan is None and selectors.app_requests_per_minute(app=plain) is None


def test_the_plan_comes_with_the_key_in_one_statement(owner, django_assert_num_queries):
    services.app_plan_set(app=owner.api_key.app, plan=Plan.objects.get(slug="pro"))
    with django_assert_num_queries(1):
        key = selectors.api_key_authenticate(raw_key=owner.raw_key)
        assert selectors.app_requests_per_minute(app=key.app) == 100


def test_a_plan_edit_reaches_keys_cached_in_this_process(owner, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    free = Plan.objects.get(slug="free")
    services.app_plan_set(app=owner.api_key.app, plan=free)
    cached = selectors.api_key_authenticate(raw_key=owner.raw_key)
    assert selectors.app_requests_per_minute(app=cached.app) == 5
    free.requests_per_minute = 7
    free.save()
    assert selectors.app_requests_per_minute(app=selectors.api_key_authenticate(raw_key=owner.raw_key).app) == 5
    services.plan_changed(plan=free)  # what the admin calls after saving
    assert selectors.app_requests_per_minute(app=selectors.api_key_authenticate(raw_key=owner.raw_key).app) == 7
    services.app_plan_set(app=owner.api_key.app, plan=None)
    assert selectors.api_key_authenticate(raw_key=owner.raw_key).app.plan_id is None


# --- the balance -------------------------------------------------------------------------------------------
def test_no_balance_means_unlimited(owner):
    app = owner.api_key.app
    assert selectors.app_balance(app=app) is None
    assert services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(10**6)) is None  # nothing held


def test_a_top_up_opens_the_balance_from_zero_whatever_was_spent_before(owner):
    app = owner.api_key.app
    UsageRecord.objects.create(
        app=app, resource_type="chat_turn", status="settled", credits=Decimal(500), created_at="2026-01-01T00:00Z"
    )
    status = services.app_balance_top_up(app=app, credits=Decimal(10))
    assert (status.credited_credits, status.spent_credits, status.remaining_credits) == (10, 0, 10)
    status = services.app_balance_top_up(app=app, credits=Decimal("2.5"))
    assert status.remaining_credits == Decimal("12.5")
    assert BudgetPolicy.objects.get(app=app).period == "lifetime"


def test_a_reservation_past_the_balance_is_refused_and_writes_nothing(owner):
    app = owner.api_key.app
    services.app_balance_top_up(app=app, credits=Decimal(3))
    assert services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(2)) is not None
    with pytest.raises(BalanceInsufficient) as refused:
        services.usage_reserve(subject=_subject(app, "run_b"), credits=Decimal(2))
    assert isinstance(refused.value, BudgetExceeded) and refused.value.status == 402
    assert refused.value.code == "insufficient_balance"
    assert "Insufficient account balance" in refused.value.message
    assert UsageRecord.objects.filter(app=app).count() == 1
    counter = BudgetCounter.objects.get(policy__app=app)
    assert (counter.reserved_credits, counter.spent_credits) == (2, 0)
    with pytest.raises(BalanceInsufficient):
        services.budget_preflight(app=app, external_user_ref="", resource_type="chat_turn", credits=Decimal(2))


def test_settling_debits_what_the_call_cost_and_frees_the_rest(owner):
    app = owner.api_key.app
    services.app_balance_top_up(app=app, credits=Decimal(5))
    services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(2))
    assert selectors.app_balance(app=app).remaining_credits == 3
    _settle("run_a", "0.75")
    status = selectors.app_balance(app=app)
    assert (status.spent_credits, status.reserved_credits, status.remaining_credits) == (
        Decimal("0.75"),
        0,
        Decimal("4.25"),
    )


def test_an_exhausted_balance_refuses_even_free_work_until_topped_up(owner):
    app = owner.api_key.app
    services.app_balance_top_up(app=app, credits=Decimal(1))
    services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(1))
    _settle("run_a", "1")
    with pytest.raises(BalanceInsufficient):
        services.usage_reserve(subject=_subject(app, "run_b"), credits=Decimal(0))
    services.app_balance_top_up(app=app, credits=Decimal(1))
    assert services.usage_reserve(subject=_subject(app, "run_b"), credits=Decimal(1)) is not None


def test_set_makes_exactly_that_much_left_and_clear_removes_the_balance(owner):
    app = owner.api_key.app
    services.app_balance_top_up(app=app, credits=Decimal(10))
    services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(3))
    _settle("run_a", "2")
    services.usage_reserve(subject=_subject(app, "run_b"), credits=Decimal(1))
    status = services.app_balance_set(app=app, remaining_credits=Decimal(4))
    assert (status.remaining_credits, status.spent_credits, status.reserved_credits) == (4, 2, 1)
    assert status.credited_credits == 7
    with pytest.raises(ValidationFailed):
        services.app_balance_top_up(app=app, credits=Decimal(0))
    with pytest.raises(ValidationFailed):
        services.app_balance_set(app=app, remaining_credits=Decimal(-1))
    assert services.app_balance_clear(app=app) is True
    assert selectors.app_balance(app=app) is None
    _settle("run_b", "1")  # a call in flight when the balance went away settles into the ledger only
    assert UsageRecord.objects.get(run_ref="run_b").status == "settled"
    assert services.app_balance_clear(app=app) is False


def test_the_balance_and_the_apps_own_budgets_both_hold(owner):
    app = owner.api_key.app
    services.budget_policy_set(app=app, limit_credits=Decimal(100))  # app-wide, every resource, monthly
    services.app_balance_top_up(app=app, credits=Decimal(2))
    assert {p.period for p in BudgetPolicy.objects.filter(app=app)} == {"monthly", "lifetime"}
    services.usage_reserve(subject=_subject(app, "run_a"), credits=Decimal(2))
    with pytest.raises(BalanceInsufficient):
        services.usage_reserve(subject=_subject(app, "run_b"), credits=Decimal(1))
    # the integrator's budget endpoints neither list nor touch the balance
    assert [status.policy.period for status in selectors.budget_statuses(app=app)] == ["monthly"]
    assert services.budget_policy_clear(app=app) == 1
    assert selectors.app_balance(app=app).reserved_credits == 2
    with pytest.raises(ValidationFailed):
        services.budget_policy_set(app=app, limit_credits=Decimal(1), period="lifetime")


def test_the_balance_command_shows_tops_up_sets_and_clears(owner, capsys):
    from django.core.management import call_command

    app = owner.api_key.app
    call_command("balance", app.pk)
    assert "no balance" in capsys.readouterr().out
    call_command("balance", app.pk, "--top-up", "12.5")
    assert "12.5 credits left of 12.5" in capsys.readouterr().out
    call_command("balance", app.pk, "--set", "3")
    assert "3 credits left" in capsys.readouterr().out
    call_command("balance", app.pk, "--clear")
    assert selectors.app_balance(app=app) is None


def test_a_retired_rate_setting_in_the_environment_warns_at_start_up(monkeypatch):
    from apps.accounts.checks import retired_rate_settings_check

    assert retired_rate_settings_check(None) == []
    monkeypatch.setenv("NPC_REQUESTS_PER_MINUTE", "30")
    monkeypatch.setenv("EMOTION_RATE_LIMIT_PER_MINUTE", "0")  # 0 was "off": nothing is lost
    [warning] = retired_rate_settings_check(None)
    assert warning.id == "accounts.W001" and "NPC_REQUESTS_PER_MINUTE" in warning.msg
