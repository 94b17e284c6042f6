"""The model catalog, editable in the admin: chat models (``type=llm``) and image models (``type=sd``)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel
from apps.llm.types import (
    COMFYUI_PLACEHOLDERS,
    COMFYUI_REQUIRED_PLACEHOLDERS,
    IMAGE_SIDE_RANGE,
    workflow_placeholders,
)


class LLMModel(TimestampedModel):
    """A model integrators and characters can name: a chat model (``type=llm``) or an image model
    (``type=sd``). The default row of each type answers when nothing is named.

    ``api_key_env`` names an environment variable instead of storing a provider secret in the database.
    Chat rows carry credits per 1,000 tokens, image rows credits per image; both feed the usage ledger.
    Image rows also carry what every picture they draw starts from: a prompt prefix, a negative prompt, a
    seed (empty: a fresh one each time), a size, sampler steps and guidance, and for ComfyUI the workflow.
    """

    class Type(models.TextChoices):
        LLM = "llm", "Chat model (LLM)"
        SD = "sd", "Image model"

    class Provider(models.TextChoices):
        SCRIPTED = "scripted", "Scripted (offline)"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible HTTP"
        BUILTIN = "builtin", "Built-in image renderer (offline)"
        AUTOMATIC1111 = "automatic1111", "AUTOMATIC1111 / Forge WebUI API"
        COMFYUI = "comfyui", "ComfyUI"
        OPENAI_IMAGES = "openai_images", "OpenAI-compatible images"

    LLM_PROVIDERS = frozenset({Provider.SCRIPTED, Provider.OPENAI_COMPATIBLE})
    SD_PROVIDERS = frozenset({Provider.BUILTIN, Provider.AUTOMATIC1111, Provider.COMFYUI, Provider.OPENAI_IMAGES})

    name = models.SlugField(max_length=100, unique=True, help_text="The name clients use, e.g. 'fast-chat'.")
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.LLM)
    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.OPENAI_COMPATIBLE)
    upstream_model = models.CharField(
        max_length=200,
        blank=True,
        help_text=(
            "Model id sent upstream; defaults to name. AUTOMATIC1111: the checkpoint to switch to "
            "(empty: the one loaded)."
        ),
    )
    base_url = models.URLField(
        blank=True,
        help_text="Defaults to LLM_BASE_URL (chat and OpenAI images). Required for AUTOMATIC1111 and ComfyUI.",
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            "Env var holding the key; defaults to LLM_API_KEY (chat and OpenAI images). AUTOMATIC1111 takes "
            "'user:password' (--api-auth)."
        ),
    )
    timeout_seconds = models.FloatField(default=60.0)
    max_tokens = models.PositiveIntegerField(default=400)
    context_tokens = models.PositiveIntegerField(
        default=0,
        help_text="The model's context window in tokens (prompt and reply); 0 uses LLM_CONTEXT_TOKENS. The prompt "
        "is trimmed to fit it, less the reply's max tokens.",
    )
    prompt_credits_per_1k = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    completion_credits_per_1k = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    # --- image models (type=sd) ---
    prompt_prefix = models.TextField(blank=True, help_text="Written before every scene prompt (style, quality).")
    negative_prompt = models.TextField(blank=True, help_text="What pictures must not show (not sent to OpenAI).")
    seed = models.BigIntegerField(null=True, blank=True, help_text="Empty: a fresh seed for every picture.")
    width = models.PositiveIntegerField(default=512)
    height = models.PositiveIntegerField(default=512)
    steps = models.PositiveIntegerField(default=28, help_text="Sampler steps (AUTOMATIC1111, ComfyUI).")
    cfg_scale = models.FloatField(default=7.0, help_text="Prompt guidance (AUTOMATIC1111, ComfyUI).")
    workflow = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "ComfyUI: the workflow in API format, with placeholders {{prompt}} (required), {{negative_prompt}}, "
            "{{seed}}, {{width}}, {{height}}, {{steps}}, {{cfg}}, {{denoise}}, {{reference_image}}."
        ),
    )
    credits_per_image = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    is_default = models.BooleanField(default=False, help_text="The default of its type (one chat, one image).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "LLM model"
        constraints = [
            models.UniqueConstraint(
                fields=["type"], condition=Q(is_default=True), name="llm_one_default_model_per_type"
            ),
            models.CheckConstraint(
                condition=(Q(type="llm") & Q(provider__in=["scripted", "openai_compatible"]))
                | (Q(type="sd") & Q(provider__in=["builtin", "automatic1111", "comfyui", "openai_images"])),
                name="llm_provider_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """An image row needs an image provider and a chat row a chat one; HTTP image servers need their
        address; a size the servers can draw; a ComfyUI row a workflow with the placeholders it fills."""
        super().clean()
        errors: dict[str, str] = {}
        if self.type == self.Type.SD and self.provider not in self.SD_PROVIDERS:
            errors["provider"] = "An image model (type sd) needs an image provider: " + ", ".join(
                sorted(self.SD_PROVIDERS)
            )
        if self.type == self.Type.LLM and self.provider not in self.LLM_PROVIDERS:
            errors["provider"] = "A chat model (type llm) needs a chat provider: " + ", ".join(
                sorted(self.LLM_PROVIDERS)
            )
        if self.type == self.Type.SD and not errors:
            if self.provider in (self.Provider.AUTOMATIC1111, self.Provider.COMFYUI) and not self.base_url:
                errors["base_url"] = "AUTOMATIC1111 and ComfyUI need the server's address, e.g. http://gpu:7860."
            low, high = IMAGE_SIDE_RANGE
            for side in ("width", "height"):
                value = getattr(self, side)
                if value is not None and not low <= value <= high:
                    errors[side] = f"Between {low} and {high} pixels."
            if self.provider == self.Provider.COMFYUI:
                problem = comfyui_workflow_problem(self.workflow)
                if problem:
                    errors["workflow"] = problem
        if errors:
            raise ValidationError(errors)


def comfyui_workflow_problem(workflow) -> str:
    """Why ``workflow`` cannot be a ComfyUI template, or "" when it can: an API-format workflow (node id ->
    {class_type, inputs}) using only known placeholders, the required ones among them."""
    if not isinstance(workflow, dict) or not workflow:
        return "Paste the workflow in ComfyUI's API format (Save (API)): an object of nodes."
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            return f"Node '{node_id}' is not an API-format node (class_type and inputs)."
        if not isinstance(node.get("inputs", {}), dict):
            return f"Node '{node_id}' has inputs that are not an object."
    used = workflow_placeholders(workflow)
    unknown = sorted(used - set(COMFYUI_PLACEHOLDERS))
    if unknown:
        return f"Unknown placeholders: {', '.join(unknown)}. Known: {', '.join(COMFYUI_PLACEHOLDERS)}."
    missing = [name for name in COMFYUI_REQUIRED_PLACEHOLDERS if name not in used]
    if missing:
        return "The workflow must contain " + ", ".join("{{" + name + "}}" for name in missing) + "."
    return ""
