"""The model catalog, editable in the admin."""

from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel


class LLMModel(TimestampedModel):
    """A chat model integrators and characters can name. The default one answers when nothing is named.

    ``api_key_env`` names an environment variable instead of storing a provider secret in the database.
    Credits per 1,000 tokens feed the usage ledger.
    """

    class Provider(models.TextChoices):
        SCRIPTED = "scripted", "Scripted (offline)"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible HTTP"

    name = models.SlugField(max_length=100, unique=True, help_text="The name clients use, e.g. 'fast-chat'.")
    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.OPENAI_COMPATIBLE)
    upstream_model = models.CharField(max_length=200, blank=True, help_text="Model id sent upstream; defaults to name.")
    base_url = models.URLField(blank=True, help_text="Defaults to LLM_BASE_URL.")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Env var holding the key; defaults to LLM_API_KEY."
    )
    timeout_seconds = models.FloatField(default=60.0)
    max_tokens = models.PositiveIntegerField(default=400)
    prompt_credits_per_1k = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    completion_credits_per_1k = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "LLM model"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="llm_one_default_model"),
        ]

    def __str__(self) -> str:
        return self.name
