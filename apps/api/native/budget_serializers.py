"""Shapes of the native budget endpoints: an app's and an end-user's spending caps and where they stand."""

from decimal import Decimal

from rest_framework import serializers

from apps.accounts.selectors import BudgetStatus
from apps.accounts.types import ALL_RESOURCES, BUDGET_PERIODS_RECURRING, BudgetEnforcement, BudgetPeriod
from apps.api.native.usage_serializers import MAX_CREDITS, RESOURCE_TYPES, credits_number
from apps.core.fields import StrictFloatField
from apps.llm.types import credits_quantize


class BudgetPolicyInput(serializers.Serializer):
    resource_type = serializers.ChoiceField(
        choices=[ALL_RESOURCES, *RESOURCE_TYPES], default=ALL_RESOURCES, help_text="What the cap counts."
    )
    limit_credits = StrictFloatField(
        min_value=0, max_value=MAX_CREDITS, allow_null=True, help_text="The cap per period; null removes the policy."
    )
    period = serializers.ChoiceField(
        choices=[(period.value, period.label) for period in BUDGET_PERIODS_RECURRING], default=BudgetPeriod.MONTHLY
    )
    enforcement = serializers.ChoiceField(
        choices=BudgetEnforcement.choices,
        default=BudgetEnforcement.HARD,
        help_text="hard: refuse work over the cap (402 budget_exceeded); soft: only warn.",
    )
    soft_limit_credits = StrictFloatField(
        min_value=0,
        max_value=MAX_CREDITS,
        allow_null=True,
        default=None,
        help_text="Emit one budget.warning event per period when spending reaches this.",
    )

    def validate(self, attrs):
        for name in ("limit_credits", "soft_limit_credits"):
            if attrs.get(name) is not None:
                attrs[name] = credits_quantize(Decimal(str(attrs[name])))
        return attrs


class BudgetPolicyDeleteQuery(serializers.Serializer):
    resource_type = serializers.ChoiceField(
        choices=[ALL_RESOURCES, *RESOURCE_TYPES], required=False, help_text="Only this policy; default: all."
    )


class BudgetStatusOutput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["app", "external_user"])
    external_user_ref = serializers.CharField(allow_null=True)
    resource_type = serializers.CharField()
    period = serializers.CharField()
    enforcement = serializers.CharField()
    limit_credits = serializers.FloatField()
    soft_limit_credits = serializers.FloatField(allow_null=True)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    spent_credits = serializers.FloatField()
    reserved_credits = serializers.FloatField(help_text="Held by turns in progress.")
    remaining_credits = serializers.FloatField()
    updated_at = serializers.DateTimeField()


class BudgetPolicyListOutput(serializers.Serializer):
    external_user_ref = serializers.CharField(allow_null=True)
    policies = BudgetStatusOutput(many=True)


class BudgetPolicyClearedOutput(serializers.Serializer):
    external_user_ref = serializers.CharField(allow_null=True)
    cleared = serializers.IntegerField(help_text="How many policies were removed.")


def budget_status_data(status: BudgetStatus) -> dict:
    policy = status.policy
    return {
        "scope": "external_user" if policy.external_user_ref else "app",
        "external_user_ref": policy.external_user_ref or None,
        "resource_type": policy.resource_type,
        "period": policy.period,
        "enforcement": policy.enforcement,
        "limit_credits": float(policy.limit_credits),
        "soft_limit_credits": credits_number(policy.soft_limit_credits),
        "period_start": status.period_start,
        "period_end": status.period_end,
        "spent_credits": float(status.spent_credits),
        "reserved_credits": float(status.reserved_credits),
        "remaining_credits": float(status.remaining_credits),
        "updated_at": policy.updated_at,
    }
