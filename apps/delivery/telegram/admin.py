"""Admin for Telegram channels and their sends. Tokens and webhook secrets are never shown or editable."""

from django.contrib import admin

from apps.core.admin_scoping import TenantScopedAdmin
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery


@admin.register(TelegramChannel)
class TelegramChannelAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("id", "bot_username", "app", "status", "webhook_status", "verified_at", "created_at")
    list_filter = ("status", "webhook_status")
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
    list_display = ("id", "channel", "telegram_user_id", "session", "scanned_cursor", "lease_expires_at")
    search_fields = ("telegram_user_id", "session__id")
    readonly_fields = [field.name for field in TelegramChat._meta.fields]


@admin.register(TelegramDelivery)
class TelegramDeliveryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "channel__app"
    list_display = ("id", "event_id", "kind", "status", "parts_sent", "attempts", "last_status_code", "delivered_at")
    list_filter = ("status", "kind", "last_status_code")
    search_fields = ("event_id",)
    readonly_fields = [field.name for field in TelegramDelivery._meta.fields]
