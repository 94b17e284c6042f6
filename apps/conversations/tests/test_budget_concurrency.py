"""Budgets under concurrency, with real threads each on its own connection (``transactional_db``): the cap
is held by the database (one conditional UPDATE per counter row), so no interleaving overspends it.
Runs on SQLite (IMMEDIATE transactions) and, in CI, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.accounts.errors import BalanceInsufficient, BudgetExceeded
from apps.accounts.models import BudgetCounter, UsageRecord
from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_concurrency import own_connection
from apps.llm.tests.factories import llm_model_create


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    """These tests count the reply's model calls; the metered model appraisal has its own tests."""
    settings.EMOTION_APPRAISER = "lexicon"


pytestmark = pytest.mark.django_db(transaction=True)


def _reserve_at_once(app, end_users: list[str]) -> int:
    """One reservation of 1 credit per entry of ``end_users``, all released at once on their own connections;
    how many were granted."""
    start = threading.Barrier(len(end_users))

    @own_connection
    def reserve(index: int) -> bool:
        subject = accounts_services.UsageSubject(
            app_id=app.id, resource_type="chat_turn", external_user_ref=end_users[index], run_ref=f"run_test{index}"
        )
        start.wait()
        try:
            accounts_services.usage_reserve(subject=subject, credits=Decimal(1))
        except BudgetExceeded:
            return False
        return True

    with ThreadPoolExecutor(max_workers=len(end_users)) as pool:
        return sum(pool.map(reserve, range(len(end_users))))


def _settle_at_once(credits: str) -> None:
    """Settle every reservation at ``credits`` each, ten at a time on their own connections."""

    @own_connection
    def settle(run_ref: str) -> None:
        accounts_services.usage_settle(
            run_ref=run_ref, input_tokens=10, output_tokens=10, credits=Decimal(credits), outcome="succeeded"
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(settle, UsageRecord.objects.values_list("run_ref", flat=True)))


def test_concurrent_reservations_never_take_a_budget_over_its_cap(owner):
    # given an end-user with a 10-credit cap and 25 reservations of 1 credit released at once
    app = owner.api_key.app
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=Decimal(10))
    granted = _reserve_at_once(app, ["u-1"] * 25)

    # then exactly ten fit, and the counter holds exactly them
    assert granted == 10
    counter = BudgetCounter.objects.get()
    assert (counter.spent_credits, counter.reserved_credits) == (0, 10)
    assert UsageRecord.objects.count() == 10

    # and settling them concurrently turns the holds into spend, to the credit
    _settle_at_once("0.75")
    counter.refresh_from_db()
    assert (counter.spent_credits, counter.reserved_credits) == (Decimal("7.5"), 0)


def test_concurrent_sends_against_a_cap_never_overspend_and_refused_turns_never_call_the_model(
    owner, fake_llm, settings
):
    # given a priced model and an end-user who has room for about three turns' reservations. The reply's bound
    # (max_tokens) is close to what a reply costs, so the room holds about three turns however the sends
    # interleave: twelve sends are refused some of the time even when the database runs them one after another
    # (SQLite's IMMEDIATE transactions), not only when their reservations overlap.
    llm_model_create(
        name="fake-chat",
        is_default=True,
        prompt_credits_per_1k=Decimal(1),
        completion_credits_per_1k=Decimal(3),
        max_tokens=32,
    )
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    services.message_send(app=app, session_id=session.id, text="warm up")  # the inline executor answers it
    first = UsageRecord.objects.get()
    cap = first.credits + 3 * first.reserved_credits
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=cap)
    senders = 12
    settings.TURNS_MAX_PENDING_PER_SESSION = senders  # the cap refuses them, not the unanswered-turns limit
    start = threading.Barrier(senders)

    @own_connection
    def send(index: int) -> str:
        start.wait()
        try:
            services.message_send(app=app, session_id=session.id, text=f"message {index}")
        except BudgetExceeded:
            return "refused"
        return "accepted"

    # when twelve sends race for it (each runs its turn right after its commit, as a worker would)
    with ThreadPoolExecutor(max_workers=senders) as pool:
        answers = list(pool.map(send, range(senders)))

    # then the spend stays within the cap and nothing stays reserved
    counter = BudgetCounter.objects.get()
    assert counter.reserved_credits == 0
    assert counter.spent_credits <= cap
    settled = UsageRecord.objects.filter(status="settled")
    assert sum(settled.values_list("credits", flat=True)) == counter.spent_credits  # it started from the ledger
    # and only turns that reserved reached the model: one request per ledger row
    succeeded = Run.objects.filter(session=session, status="succeeded").count()
    assert len(fake_llm.chat_requests) == succeeded == settled.count()
    assert succeeded >= 2  # three reservations' worth of room, so the cap was not trivially zero
    refused_runs = Run.objects.filter(session=session, status="failed", error_code="budget_exceeded").count()
    assert answers.count("refused") + refused_runs > 0  # and not trivially large either
    assert answers.count("accepted") == (succeeded - 1) + refused_runs
    assert Event.objects.filter(session=session, event_type="run.failed").count() == refused_runs


def test_concurrent_reservations_never_spend_past_the_apps_balance(owner):
    # given an app with a 10-credit balance and 25 reservations of 1 credit, each for another end-user
    app = owner.api_key.app
    accounts_services.app_balance_top_up(app=app, credits=Decimal(10))
    granted = _reserve_at_once(app, [f"u-{index}" for index in range(25)])

    # then exactly ten fit (the others were refused as BalanceInsufficient): the balance is the app's,
    # whoever the work is for
    assert granted == 10
    assert UsageRecord.objects.count() == 10
    assert accounts_selectors.app_balance(app=app).remaining_credits == 0
    with pytest.raises(BalanceInsufficient):
        accounts_services.usage_reserve(
            subject=accounts_services.UsageSubject(app_id=app.id, resource_type="chat_turn"), credits=Decimal(1)
        )

    # and settling them concurrently debits what each call cost and frees the rest
    _settle_at_once("0.5")
    balance = accounts_selectors.app_balance(app=app)
    assert (balance.spent_credits, balance.reserved_credits, balance.remaining_credits) == (5, 0, 5)
