from django.contrib import admin, messages

from apps.core.admin_scoping import TenantScopedAdmin
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.webhooks import services
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = (
        "id",
        "app",
        "url",
        "status",
        "disabled_reason",
        "session",
        "scope",
        "consecutive_failures",
        "last_success_at",
        "created_at",
    )
    list_filter = ("status", "disabled_reason", "app")
    search_fields = ("id", "url", "session__id", "scope")
    list_select_related = ("app", "session")
    raw_id_fields = ("session",)
    actions = ["disable_endpoints", "enable_endpoints"]
    exclude = ("secret",)
    # Status changes go through the actions (their services cancel pending rows and tell the session).
    readonly_fields = (
        "id",
        "app",
        "session",
        "scope",
        "status",
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
    )

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

    def _each(self, request, queryset, service, done: str, skipped: str) -> None:
        changed, left = [], 0
        for endpoint_id in queryset.values_list("id", flat=True):
            if service(endpoint_id=endpoint_id):
                changed.append(endpoint_id)
            else:
                left += 1
        if changed:
            self.message_user(request, f"{done} {len(changed)} endpoint(s): {', '.join(changed)}.", messages.SUCCESS)
        if left:
            self.message_user(request, f"{left} endpoint(s) {skipped}: left as they were.", messages.WARNING)

    @admin.action(
        description="Disable the selected endpoints (pending deliveries are cancelled)", permissions=["change"]
    )
    def disable_endpoints(self, request, queryset):
        self._each(request, queryset, services.webhook_endpoint_disable, "Disabled", "were not active")

    @admin.action(description="Enable the selected disabled endpoints", permissions=["change"])
    def enable_endpoints(self, request, queryset):
        self._each(request, queryset, services.webhook_endpoint_enable, "Enabled", "were not disabled")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "endpoint__app"
    list_display = (
        "id",
        "event_type",
        "endpoint_url",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
    )
    list_filter = ("status", "event_type", "endpoint__app")
    search_fields = ("=event_id", "=endpoint__id")
    search_help_text = "An event id or an endpoint id (exact)."
    list_select_related = ("endpoint",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["resend"]

    @admin.display(description="endpoint", ordering="endpoint__url")
    def endpoint_url(self, obj: WebhookDelivery) -> str:
        return obj.endpoint.url

    @admin.action(description="Re-send the selected failed or cancelled deliveries", permissions=["change"])
    def resend(self, request, queryset):
        delivery_ids = list(queryset.values_list("id", flat=True))
        resent = services.webhook_deliveries_resend(delivery_ids=delivery_ids)
        if resent:
            self.message_user(request, f"Re-sending {len(resent)} delivery(ies).", messages.SUCCESS)
        if len(resent) < len(delivery_ids):
            self.message_user(
                request,
                f"{len(delivery_ids) - len(resent)} delivery(ies) not re-sent: only failed or cancelled ones of an "
                "active endpoint can be (enable a disabled endpoint first).",
                messages.WARNING,
            )
