"""An end-user's share of the accounts ledger under a GDPR erasure: usage kept for billing but anonymised,
budgets naming the user deleted."""

from django.db import transaction
from django.db.models import Q, Value

from apps.accounts import selectors
from apps.accounts.models import App, BudgetPolicy, UsageRecord
from apps.accounts.types import ERASED_REF


def external_user_usage_anonymise(*, app: App, external_user_ref: str, session_ids: list[str]) -> dict[str, int]:
    """Keep the end-user's usage rows (credits and tokens are what the app is billed for, so every total stays
    the same) but cut them loose from the person: ``external_user_ref`` and ``session_id`` become
    ``ERASED_REF`` and ``run_ref`` is cleared (it named a run that no longer exists, and must stay unique per
    call when set). Delete the budget policies naming the user, with their counters. Runs in the caller's
    transaction; returns the counts of ``usage_records_anonymised`` and ``budget_policies``."""
    with transaction.atomic():
        anonymised = UsageRecord.objects.filter(
            Q(external_user_ref=external_user_ref) | Q(session_id__in=session_ids), app=app
        ).update(external_user_ref=Value(ERASED_REF), session_id=Value(ERASED_REF), run_ref=Value(""))
        _, deleted = (
            BudgetPolicy.objects.filter(app=app, external_user_ref=external_user_ref)
            .exclude(period=BudgetPolicy.Period.LIFETIME)
            .delete()
        )
        policies = deleted.get(BudgetPolicy._meta.label, 0)
        if policies:
            selectors.BUDGET_POLICIES.bump(scope=app.pk)
    return {"usage_records_anonymised": anonymised, "budget_policies": policies}
