"""The shapes of GET /v1/account: the app's plan (its request limit) and its credit balance."""

from rest_framework import serializers

from apps.accounts.selectors import BalanceStatus


class PlanOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    requests_per_minute = serializers.IntegerField(help_text="Per API key, in any 60 seconds, on every surface.")


class BalanceOutput(serializers.Serializer):
    credited_credits = serializers.FloatField(help_text="Everything the operator has topped up.")
    spent_credits = serializers.FloatField()
    reserved_credits = serializers.FloatField(help_text="Held by model calls in progress.")
    remaining_credits = serializers.FloatField(help_text="What new work may spend; at 0 metered requests are 402.")


class AccountOutput(serializers.Serializer):
    plan = PlanOutput(allow_null=True, help_text="Null: no request limit.")
    balance = BalanceOutput(allow_null=True, help_text="Null: no balance, spending is not limited by one.")


def account_data(*, app, balance: BalanceStatus | None) -> dict:
    plan = app.plan if app.plan_id is not None else None
    return {
        "plan": None
        if plan is None
        else {"slug": plan.slug, "name": plan.name, "requests_per_minute": plan.requests_per_minute},
        "balance": None
        if balance is None
        else {
            "credited_credits": float(balance.credited_credits),
            "spent_credits": float(balance.spent_credits),
            "reserved_credits": float(balance.reserved_credits),
            "remaining_credits": float(balance.remaining_credits),
        },
    }
