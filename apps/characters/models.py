"""Characters and their versions."""

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel, prefixed_id_field


class Character(TimestampedModel):
    """An authored character owned by one app. Its slug is unique within that app: another app may use the
    same slug for a character of its own, and each app only ever sees its own.

    ``current_version`` is what new sessions start on; ``draft`` is the admin's working copy, published
    with the same service the API uses.
    """

    id = prefixed_id_field("char")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="characters")
    slug = models.CharField(max_length=128)
    display_name = models.CharField(max_length=120)
    current_version = models.ForeignKey(
        "CharacterVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    draft = models.JSONField(default=dict, blank=True, help_text="Authoring fields; publish to make a new version.")
    # The draft's readiness, stored so that the admin can filter on it; the services keep it in step with the
    # draft (saving it, or publishing, which makes the published content the draft).
    readiness_status = models.CharField(
        max_length=16,
        choices=[("ready", "ready"), ("needs_work", "needs work")],
        default="needs_work",
        db_index=True,
    )
    readiness_score = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["slug"]
        constraints = [models.UniqueConstraint(fields=["app", "slug"], name="character_app_slug_unique")]

    def __str__(self) -> str:
        return self.slug


class CharacterVersion(models.Model):
    """One immutable published snapshot of a character's authoring fields."""

    id = prefixed_id_field("chv")
    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who published it: an admin user (``published_via`` "admin"), or an API key ("api:<key prefix>").
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_via = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["character", "-version_number"]
        constraints = [
            models.UniqueConstraint(fields=["character", "version_number"], name="character_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.character_id} v{self.version_number}"
