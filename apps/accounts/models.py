"""Tenants, their plans and credentials, the usage ledger, budgets and balances."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.accounts.types import (
    ALL_RESOURCES,
    BudgetEnforcement,
    BudgetPeriod,
    ResourceType,
    UsagePurpose,
    UsageStatus,
)
from apps.core.models import TimestampedModel, prefixed_id_field


class Plan(TimestampedModel):
    """What an app may do per unit of time: today, how many requests each of its keys may make per minute.

    Apps point at a plan; their keys inherit it. Operators edit the rows in the admin (a change reaches every
    web process within ``API_KEY_CACHE_SECONDS``, the life of a verified key in a process's cache). The data
    migration creates ``free`` (5/min), ``pro`` (100/min) and ``sandbox`` (120/min, given to sandbox apps).
    """

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    requests_per_minute = models.PositiveIntegerField(
        help_text="Requests each API key of an app on this plan may make in any 60-second window, on every surface."
    )

    class Meta:
        ordering = ["requests_per_minute", "slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.requests_per_minute}/min)"


class App(TimestampedModel):
    """A tenant. Everything an integrator creates belongs to exactly one app.

    The ``max_*`` caps are null for unlimited; the ``*_used`` counters are only ever changed by
    ``services.app_quota_consume`` with a conditional UPDATE, so caps hold under concurrency.
    """

    id = prefixed_id_field("app")
    name = models.CharField(max_length=120)
    is_sandbox = models.BooleanField(default=False)
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="apps",
        help_text="No plan: no request limit.",
    )
    max_characters = models.PositiveIntegerField(null=True, blank=True)
    max_sessions = models.PositiveIntegerField(null=True, blank=True)
    max_user_messages = models.PositiveIntegerField(null=True, blank=True)
    max_message_chars = models.PositiveIntegerField(null=True, blank=True)
    characters_used = models.PositiveIntegerField(default=0)
    sessions_used = models.PositiveIntegerField(default=0)
    user_messages_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(TimestampedModel):
    """A bearer key for one app. Only ``prefix`` and a SHA-256 of the secret are stored; the key is shown once."""

    id = prefixed_id_field("key")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    secret_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.app_id})"


CREDITS = {"max_digits": 18, "decimal_places": 6}


class UsageRecord(models.Model):
    """The ledger: one row per metered piece of work (a run today), reserved before it and settled after.

    The row is written when credits are reserved (``status`` reserved, ``reserved_credits`` the most the
    work can cost) and settled once with what the provider reported (``credits``). ``holds`` lists the
    budget counters the reservation was taken on and how much, so settling releases exactly that.
    Identifiers are plain strings, not foreign keys: the ledger outlives sessions and characters.
    """

    Status = UsageStatus
    Purpose = UsagePurpose

    id = prefixed_id_field("use")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="usage_records")
    run_ref = models.CharField(max_length=40, blank=True)
    session_id = models.CharField(max_length=40, blank=True)
    character = models.CharField(max_length=128, blank=True, help_text="The character's slug.")
    external_user_ref = models.CharField(max_length=256, blank=True)
    model = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    resource_type = models.CharField(max_length=32, choices=ResourceType.choices)
    purpose = models.CharField(max_length=32, choices=Purpose.choices, default=Purpose.REPLY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    outcome = models.CharField(max_length=16, blank=True, help_text="succeeded or failed, once settled.")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    reserved_credits = models.DecimalField(**CREDITS, default=0)
    credits = models.DecimalField(**CREDITS, default=0)
    holds = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["run_ref", "purpose"], condition=~Q(run_ref=""), name="usage_one_per_run_call"
            ),
        ]
        indexes = [
            # GET /v1/usage: an app's settled rows in a date range, grouped in the database.
            models.Index(fields=["app", "created_at"], name="usage_app_time", condition=Q(status="settled")),
            # Per end-user totals (budget counters start from them) and the external_user filter.
            models.Index(
                fields=["app", "external_user_ref", "created_at"],
                name="usage_app_user_time",
                condition=Q(status="settled"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.resource_type} {self.credits}"


class BudgetPolicy(TimestampedModel):
    """A cap on the credits an app (``external_user_ref`` empty) or one of its end-users may spend per period.

    ``resource_type`` "all" counts every resource. A hard policy refuses work whose reservation would go
    over ``limit_credits``; a soft one only warns. Either warns once per period at ``soft_limit_credits``.

    The app's balance is one of these too: app-wide, every resource, hard, with the ``lifetime`` period
    that never resets, so its one counter holds everything ever spent against it. Topping up raises its
    limit (``services.app_balance_top_up``); what is left is limit - spent - reserved. One per app, beside
    any daily or monthly budgets.
    """

    Period = BudgetPeriod
    Enforcement = BudgetEnforcement
    ALL = ALL_RESOURCES

    id = prefixed_id_field("bud")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="budget_policies")
    external_user_ref = models.CharField(max_length=256, blank=True, help_text="Empty for the app-wide budget.")
    resource_type = models.CharField(max_length=32, default=ALL)
    period = models.CharField(max_length=16, choices=Period.choices, default=Period.MONTHLY)
    limit_credits = models.DecimalField(**CREDITS)
    soft_limit_credits = models.DecimalField(**CREDITS, null=True, blank=True)
    enforcement = models.CharField(max_length=8, choices=Enforcement.choices, default=Enforcement.HARD)

    class Meta:
        ordering = ["external_user_ref", "resource_type"]
        verbose_name_plural = "budget policies"
        constraints = [
            models.UniqueConstraint(
                fields=["app", "external_user_ref", "resource_type"],
                condition=~Q(period=BudgetPeriod.LIFETIME),
                name="budget_one_policy_per_scope",
            ),
            models.UniqueConstraint(
                fields=["app"], condition=Q(period=BudgetPeriod.LIFETIME), name="budget_one_balance_per_app"
            ),
        ]

    def __str__(self) -> str:
        scope = self.external_user_ref or "app"
        return f"{self.app_id} {scope} {self.resource_type} {self.limit_credits}/{self.period}"


class BudgetCounter(models.Model):
    """What a policy's scope spent and holds reserved in one period (UTC day or month).

    Changed only by conditional UPDATEs in ``services.budgets``: a reservation succeeds only if
    ``spent + reserved + amount`` stays within ``limit_credits`` (the policy's hard limit, copied here so
    that one row decides), so concurrent reservations can never overspend.
    """

    policy = models.ForeignKey(BudgetPolicy, on_delete=models.CASCADE, related_name="counters")
    period_start = models.DateField()
    limit_credits = models.DecimalField(**CREDITS, null=True, blank=True, help_text="Null when not enforced.")
    spent_credits = models.DecimalField(**CREDITS, default=0)
    reserved_credits = models.DecimalField(**CREDITS, default=0)
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "period_start"], name="budget_counter_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.period_start}"


class AppStaff(TimestampedModel):
    """Binds a staff user to one app: in the admin they see and edit only that app's rows, and their Django
    session opens that app's streams. A superuser needs no binding (they see every app); a non-superuser
    staff user without one sees no tenant rows at all. Changed only by ``services.app_staff_bind`` and
    ``app_staff_unbind`` (the user admin's inline goes through them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_staff")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name = "app staff binding"
        verbose_name_plural = "app staff bindings"

    def __str__(self) -> str:
        return f"{self.user_id} → {self.app_id}"
