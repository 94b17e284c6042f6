from django.contrib import admin

from apps.llm import services
from apps.llm.models import LLMModel


@admin.register(LLMModel)
class LLMModelAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "provider",
        "upstream_model",
        "base_url",
        "prompt_credits_per_1k",
        "completion_credits_per_1k",
        "is_default",
        "is_active",
    )
    list_filter = ("provider", "is_default", "is_active")
    search_fields = ("name", "upstream_model")

    # Through the services, so every process's cached catalog learns of the change.
    def save_model(self, request, obj, form, change):
        services.llm_model_save(model=obj)

    def delete_model(self, request, obj):
        services.llm_model_delete(model=obj)

    def delete_queryset(self, request, queryset):
        for model in queryset:
            services.llm_model_delete(model=model)
