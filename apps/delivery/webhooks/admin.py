from django.contrib import admin

from apps.core.admin_scoping import TenantScopedAdmin
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("id", "app", "session", "scope", "url", "status", "consecutive_failures", "created_at")
    list_filter = ("status", "disabled_reason")
    search_fields = ("id", "url", "session__id", "scope")
    list_select_related = ("app",)
    exclude = ("secret",)
    readonly_fields = ("id", "app", "session", "scope", "disabled_at", "failing_since", "last_success_at")

    # An edit here (status, URL, event types) changes where events go: every process's cached routes must miss.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        PUSH_ROUTES.bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        PUSH_ROUTES.bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        PUSH_ROUTES.bump()


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "endpoint__app"
    list_display = ("id", "event_id", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("event_id", "endpoint__id")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
