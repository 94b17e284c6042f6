"""Visual assets and generated images.

A character's **visual assets** are the pictures its images are drawn from: one active ``identity`` asset
(the face), and wardrobe, accessories, props, places, scenes, styles and keyframes. An identity upload is
active at once (promotion ``approved_anchor``); other categories arrive as candidates that an author
promotes, and anything can be retired. Files live in Django's storage (``STORAGES["default"]``).

A **generated image** is one picture an image backend drew for a character: a selfie in a session, an
image probe, or a direct request. It is ``pending`` until the backend answers, then ``ready`` (with its
file and thumbnail) or ``failed`` (with a code). Events carry its id, never a URL: a fresh signed URL is
minted each time an event is read or delivered.
"""

from django.db import models

from apps.core.models import TimestampedModel, prefixed_id_field


class VisualAsset(TimestampedModel):
    class Category(models.TextChoices):
        IDENTITY = "identity"
        WARDROBE = "wardrobe"
        ACCESSORY = "accessory"
        PROP = "prop"
        PLACE = "place"
        SCENE = "scene"
        STYLE = "style"
        KEYFRAME = "keyframe"

    class Status(models.TextChoices):
        ACTIVE = "active"
        CANDIDATE = "candidate"
        RETIRED = "retired"

    class Promotion(models.TextChoices):
        APPROVED_ANCHOR = "approved_anchor"  # an identity: what every image must look like
        APPROVED = "approved"  # a promoted candidate
        CANDIDATE = "candidate"

    id = prefixed_id_field("vas")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="visual_assets")
    character = models.ForeignKey("characters.Character", on_delete=models.CASCADE, related_name="visual_assets")
    asset_key = models.CharField(max_length=128)
    category = models.CharField(max_length=16, choices=Category.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    promotion = models.CharField(max_length=16, choices=Promotion.choices)
    label = models.CharField(max_length=200, blank=True)
    visual_summary = models.CharField(max_length=500, blank=True)
    visual_description = models.TextField(blank=True)
    file = models.FileField(upload_to="assets/%Y/%m/", max_length=300)
    thumbnail = models.FileField(upload_to="assets/thumbs/%Y/%m/", max_length=300, blank=True)
    content_type = models.CharField(max_length=32)  # image/png | image/jpeg | image/webp, from decoding
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    source_url = models.URLField(max_length=2048, blank=True, help_text="Where a registered asset was fetched from.")
    provenance = models.CharField(max_length=500, blank=True)
    license = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["character", "category", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["character", "asset_key"], name="visual_asset_key_unique"),
            models.UniqueConstraint(
                fields=["character"],
                condition=models.Q(category="identity", status="active"),
                name="visual_asset_one_active_identity",
            ),
        ]
        indexes = [models.Index(fields=["character", "status", "category"], name="visual_asset_usable")]

    def __str__(self) -> str:
        return f"{self.asset_key} ({self.category}, {self.status})"


class GeneratedImage(TimestampedModel):
    class Kind(models.TextChoices):
        SELFIE = "selfie"
        PROBE = "probe"
        DIRECT = "direct"

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    id = prefixed_id_field("img")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="generated_images")
    character = models.ForeignKey("characters.Character", on_delete=models.CASCADE, related_name="generated_images")
    # Plain ids, not foreign keys: conversations sits above assets.
    session_id = models.CharField(max_length=40, blank=True, db_index=True)
    run_ref = models.CharField(max_length=40, blank=True)
    external_user_ref = models.CharField(max_length=256, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    probe_type = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    model = models.CharField(max_length=100, help_text="The image model of the catalog that drew it.")
    backend = models.CharField(max_length=32)
    prompt = models.TextField()
    prompt_summary = models.CharField(max_length=300, blank=True)
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    assets_used = models.JSONField(default=list, blank=True, help_text="Ids of the visual assets sent.")
    report = models.JSONField(default=dict, blank=True, help_text="The consistency report (probes).")
    file = models.FileField(upload_to="images/%Y/%m/", max_length=300, blank=True)
    thumbnail = models.FileField(upload_to="images/thumbs/%Y/%m/", max_length=300, blank=True)
    content_type = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    credits = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "-created_at"], name="generated_image_app_recent")]

    def __str__(self) -> str:
        return f"{self.id} ({self.kind}, {self.status})"
