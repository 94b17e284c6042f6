"""Admin for Telegram channels and their sends. Tokens and webhook secrets are never shown or editable."""

from django.contrib import admin, messages

from apps.core.admin_scoping import TenantScopedAdmin
from apps.delivery.telegram import services
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery


@admin.register(TelegramChannel)
class TelegramChannelAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("id", "bot_username", "app", "status", "webhook_status", "verified_at", "created_at")
    list_filter = ("status", "webhook_status", "routing_mode", "app")
    search_fields = ("id", "bot_username", "bot_id", "app__name")
    list_select_related = ("app",)
    exclude = ("bot_token", "webhook_secret")
    readonly_fields = (
        "id",
        "app",
        "token_hint",
        "bot_id",
        "bot_username",
        "bot_name",
        "routing_mode",
        "default_character",
        "status",
        "webhook_status",
        "pending_update_count",
        "last_error",
        "verified_at",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return False  # connecting needs getMe and setWebhook: use the API


@admin.register(TelegramChat)
class TelegramChatAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "channel__app"
    list_display = ("id", "channel", "telegram_user_id", "session", "scanned_cursor", "lease_expires_at", "created_at")
    list_filter = ("channel",)
    search_fields = ("=telegram_user_id", "=session__id")
    list_select_related = ("channel", "session")
    readonly_fields = [field.name for field in TelegramChat._meta.fields]


@admin.register(TelegramDelivery)
class TelegramDeliveryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "channel__app"
    list_display = (
        "id",
        "channel",
        "chat",
        "kind",
        "status",
        "parts_sent",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    list_filter = ("status", "kind", "last_status_code", "channel")
    search_fields = ("=event_id",)
    list_select_related = ("channel", "chat")
    readonly_fields = [field.name for field in TelegramDelivery._meta.fields]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["resend"]

    @admin.action(description="Re-send the selected failed messages and photos", permissions=["change"])
    def resend(self, request, queryset):
        delivery_ids = list(queryset.values_list("id", flat=True))
        resent = services.telegram_deliveries_resend(delivery_ids=delivery_ids)
        if resent:
            self.message_user(request, f"Re-sending {len(resent)} delivery(ies).", messages.SUCCESS)
        if len(resent) < len(delivery_ids):
            self.message_user(
                request,
                f"{len(delivery_ids) - len(resent)} delivery(ies) not re-sent: only failed messages and photos of a "
                "bot Telegram still accepts can be.",
                messages.WARNING,
            )
