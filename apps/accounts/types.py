"""Plain values of the accounts app that other apps and the surfaces use: the usage ledger's and the budgets'
enumerations (the models' fields take their choices from here)."""

from django.db import models


class ResourceType(models.TextChoices):
    """What a usage record paid for."""

    CHAT_TURN = "chat_turn"
    PROACTIVE_TURN = "proactive_turn"
    IMAGE = "image"


class UsageStatus(models.TextChoices):
    RESERVED = "reserved"
    SETTLED = "settled"


class UsagePurpose(models.TextChoices):
    """Which model call of a run the row paid for: a turn can make two (the emotion appraisal, then the reply)."""

    REPLY = "reply"
    EMOTION_APPRAISAL = "emotion_appraisal"
    NPC_EVALUATION = "npc_evaluation"
    NPC_EXTRACTION = "npc_extraction"
    MEMORY_SUMMARY = "memory_summary"  # folding a session's older messages into its memory (a background task)
    IMAGE = "image"  # one generated picture (a selfie, a probe), at its image model's credits_per_image


class BudgetPeriod(models.TextChoices):
    DAILY = "daily"
    MONTHLY = "monthly"
    LIFETIME = "lifetime"  # the app's balance: never resets (services.app_balance_top_up)


# The periods an integrator may give a budget of their own (the lifetime one is the operator's balance).
BUDGET_PERIODS_RECURRING = (BudgetPeriod.DAILY, BudgetPeriod.MONTHLY)


class BudgetEnforcement(models.TextChoices):
    HARD = "hard"
    SOFT = "soft"


ALL_RESOURCES = "all"  # a budget's resource_type when it counts every resource

# What an erased end-user's ref, session and run references become on the usage rows kept for billing.
ERASED_REF = "erased"
