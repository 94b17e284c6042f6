from django.contrib import admin

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
