from django.contrib import admin

from apps.core.admin_scoping import GlobalCatalogAdmin
from apps.llm import services
from apps.llm.models import LLMModel


@admin.register(LLMModel)
class LLMModelAdmin(GlobalCatalogAdmin, admin.ModelAdmin):
    """Chat and image models in one catalog; the form's validation is the model's ``clean`` (an image row needs
    an image provider, a ComfyUI row a workflow with its placeholders).

    The catalog is shared by every app: staff bound to an app may read it (which models exist and their rates)
    with Django's view permission; only superusers add, change or delete rows (``GlobalCatalogAdmin``)."""

    list_display = (
        "name",
        "type",
        "provider",
        "upstream_model",
        "base_url",
        "prompt_credits_per_1k",
        "completion_credits_per_1k",
        "credits_per_image",
        "is_default",
        "is_active",
    )
    list_filter = ("type", "provider", "is_default", "is_active")
    search_fields = ("name", "upstream_model")
    fieldsets = (
        (None, {"fields": ("name", "type", "provider", "upstream_model", "is_default", "is_active")}),
        ("Server", {"fields": ("base_url", "api_key_env", "timeout_seconds")}),
        ("Chat models", {"fields": ("max_tokens", "prompt_credits_per_1k", "completion_credits_per_1k")}),
        (
            "Image models",
            {
                "fields": (
                    "prompt_prefix",
                    "negative_prompt",
                    ("width", "height"),
                    "seed",
                    ("steps", "cfg_scale"),
                    "workflow",
                    "credits_per_image",
                )
            },
        ),
    )

    # Through the services, so every process's cached catalog learns of the change.
    def save_model(self, request, obj, form, change):
        services.llm_model_save(model=obj)

    def delete_model(self, request, obj):
        services.llm_model_delete(model=obj)

    def delete_queryset(self, request, queryset):
        for model in queryset:
            services.llm_model_delete(model=model)
