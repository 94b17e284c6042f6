from django.contrib import admin, messages

from apps.accounts import selectors, services
from apps.accounts.models import ApiKey, App, BudgetCounter, BudgetPolicy, UsageRecord


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "is_sandbox", "characters_used", "sessions_used", "user_messages_used", "created_at")
    list_filter = ("is_sandbox",)
    search_fields = ("name", "id")
    readonly_fields = ("id", "characters_used", "sessions_used", "user_messages_used", "created_at", "updated_at")
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request, queryset):
        for app in queryset:
            issued = services.api_key_create(app=app, name=f"admin:{request.user}")
            self.message_user(request, f"New key for {app.name}: {issued.raw_key}", messages.WARNING)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
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
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger is written by the pipeline only: read-only here."""

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


class BudgetCounterInline(admin.TabularInline):
    model = BudgetCounter
    extra = 0
    fields = ("period_start", "limit_credits", "spent_credits", "reserved_credits", "warned_at")
    readonly_fields = fields
    can_delete = False


@admin.register(BudgetPolicy)
class BudgetPolicyAdmin(admin.ModelAdmin):
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
