from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from apps.accounts import selectors, services
from apps.accounts.models import CREDITS, ApiKey, App, AppStaff, BudgetCounter, BudgetPolicy, Plan, UsageRecord
from apps.core.admin_scoping import SuperuserOnlyAdmin, TenantScopedAdmin, TenantScopedInline


class ApiKeyInline(TenantScopedInline, admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


# --- staff bound to one app (only superusers bind them) ------------------------------------------------


class AppStaffInline(SuperuserOnlyAdmin, admin.TabularInline):
    """The staff users bound to this app. Saved through ``services.app_staff_bind`` / ``app_staff_unbind``."""

    model = AppStaff
    fields = ("user", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0


class AppStaffOfUserInline(SuperuserOnlyAdmin, admin.StackedInline):
    """The one app a staff user is bound to: they see and edit only its rows (superusers see every app)."""

    model = AppStaff
    fields = ("app",)
    verbose_name = "bound app"
    verbose_name_plural = "bound app (a staff user bound to an app sees and edits only its rows)"
    max_num = 1
    extra = 0


def _app_staff_formset_save(formset) -> bool:
    """Write an AppStaff formset through the services; False for any other formset (left to Django)."""
    if formset.model is not AppStaff:
        return False
    for binding in formset.save(commit=False):
        services.app_staff_bind(user=binding.user, app=binding.app)
    for binding in formset.deleted_objects:
        services.app_staff_unbind(user=binding.user)
    return True


admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class DramatisUserAdmin(SuperuserOnlyAdmin, UserAdmin):
    """Django's user admin, for superusers only (whoever edits users can make anyone a superuser), with the
    user's bound app."""

    inlines = [*UserAdmin.inlines, AppStaffOfUserInline]

    def save_formset(self, request, form, formset, change):
        if not _app_staff_formset_save(formset):
            super().save_formset(request, form, formset, change)


@admin.register(Group)
class DramatisGroupAdmin(SuperuserOnlyAdmin, GroupAdmin):
    """Django's group admin, for superusers only (a group grants permissions)."""


# --- the tenants' own rows ------------------------------------------------------------------------------


@admin.register(Plan)
class PlanAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """The operator's plans: editing one changes the request limit of every app on it (every key of theirs)."""

    list_display = ("slug", "name", "requests_per_minute", "updated_at")
    search_fields = ("slug", "name")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.plan_changed(plan=obj)


class AppAdminForm(forms.ModelForm):
    balance_top_up = forms.DecimalField(
        required=False,
        min_value=Decimal("0.000001"),
        label="Add credits to the balance",
        help_text="Tops the app's balance up by this much (opening one if it has none: from then on, metered "
        "requests past it are refused with 402). `manage.py balance` sets or removes it.",
        **CREDITS,
    )

    class Meta:
        model = App
        fields = ["name", "is_sandbox", "plan", "max_characters", "max_sessions", "max_user_messages",
                  "max_message_chars"]  # fmt: skip


@admin.register(App)
class AppAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """An app's staff see their own app only (its quotas, plan and balance read-only) and cannot add or delete
    apps."""

    form = AppAdminForm
    app_path = "pk"
    superuser_only_fields = ("name", "is_sandbox", "plan", "max_characters", "max_sessions", "max_user_messages",
                             "max_message_chars")  # fmt: skip
    list_display = ("name", "id", "plan", "is_sandbox", "characters_used", "sessions_used", "user_messages_used",
                    "created_at")  # fmt: skip
    list_filter = ("is_sandbox", "plan")
    list_select_related = ("plan",)
    search_fields = ("name", "id")
    readonly_fields = ("id", "balance", "characters_used", "sessions_used", "user_messages_used", "created_at",
                       "updated_at")  # fmt: skip
    inlines = [ApiKeyInline, AppStaffInline]
    actions = ["issue_key"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if request.user.is_superuser else [name for name in fields if name != "balance_top_up"]

    @admin.display(description="Balance (credits)")
    def balance(self, obj) -> str:
        status = selectors.app_balance(app=obj) if obj.pk else None
        if status is None:
            return "No balance: spending is not limited by one."
        return (
            f"{status.remaining_credits.normalize():f} left of {status.credited_credits.normalize():f} credited "
            f"({status.spent_credits.normalize():f} spent, {status.reserved_credits.normalize():f} held by calls "
            "in progress)"
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "plan" in form.changed_data:
            services.app_plan_set(app=obj, plan=obj.plan)  # its keys follow the new plan at once
        top_up = form.cleaned_data.get("balance_top_up")
        if top_up and request.user.is_superuser:
            status = services.app_balance_top_up(app=obj, credits=top_up)
            self.message_user(request, f"Balance of {obj.name}: {status.remaining_credits.normalize():f} credits.")

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        if not _app_staff_formset_save(formset):
            super().save_formset(request, form, formset, change)

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request, queryset):
        for app in queryset:
            issued = services.api_key_create(app=app, name=f"admin:{request.user}")
            self.message_user(request, f"New key for {app.name}: {issued.raw_key}", messages.WARNING)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("prefix", "app", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at", "app")
    search_fields = ("prefix", "name", "app__name")
    list_select_related = ("app",)
    readonly_fields = ("id", "prefix", "secret_hash", "app", "created_at", "last_used_at")
    fields = ("id", "app", "name", "prefix", "secret_hash", "expires_at", "revoked_at", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are issued from the app page so the secret can be shown once

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        keys = list(queryset)
        live = [key for key in keys if key.revoked_at is None]
        for key in live:
            services.api_key_revoke(api_key=key)
        if live:
            self.message_user(request, f"Revoked {len(live)} key(s): {', '.join(key.prefix for key in live)}.")
        if len(live) < len(keys):
            self.message_user(
                request, f"{len(keys) - len(live)} key(s) were already revoked and left as they were.", messages.WARNING
            )


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """The ledger is written by the pipeline only: read-only here."""

    app_path = "app"

    list_display = (
        "id",
        "app",
        "purpose",
        "resource_type",
        "model",
        "external_user_ref",
        "status",
        "credits",
        "created_at",
    )
    list_filter = ("purpose", "status", "resource_type", "model", "app")
    search_fields = ("id", "run_ref", "session_id", "external_user_ref", "character")
    date_hierarchy = "created_at"
    list_select_related = ("app",)
    show_full_result_count = False  # the ledger grows with every model call

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class BudgetCounterInline(TenantScopedInline, admin.TabularInline):
    model = BudgetCounter
    extra = 0
    fields = ("period_start", "limit_credits", "spent_credits", "reserved_credits", "warned_at")
    readonly_fields = fields
    can_delete = False


@admin.register(BudgetPolicy)
class BudgetPolicyAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("app", "external_user_ref", "resource_type", "period", "limit_credits", "enforcement")
    list_filter = ("period", "enforcement", "resource_type", "app")
    search_fields = ("app__name", "external_user_ref")
    list_select_related = ("app",)
    readonly_fields = ("id", "app", "external_user_ref", "resource_type", "created_at", "updated_at")
    inlines = [BudgetCounterInline]

    def has_add_permission(self, request) -> bool:
        return False  # set through the API, whose service keeps the counters in step

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        selectors.BUDGET_POLICIES.bump(scope=obj.app_id)

    def delete_queryset(self, request, queryset):
        app_ids = set(queryset.values_list("app_id", flat=True))
        super().delete_queryset(request, queryset)
        for app_id in app_ids:
            selectors.BUDGET_POLICIES.bump(scope=app_id)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
