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


class Lorebook(TimestampedModel):
    """A lorebook (SillyTavern's World Info, Character Card V2's ``character_book``) of one app.

    A book with an ``owner`` is that character's own book (at most one); a book without one is shared and can be
    attached to several of the app's characters (``characters``). Writes go through the services, which publish
    a new version of every character that uses the book in the same transaction: sessions read the books from
    the version they run on (its ``lorebooks`` content key), never from these rows.
    """

    id = prefixed_id_field("lb")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="lorebooks")
    owner = models.OneToOneField(
        Character, null=True, blank=True, on_delete=models.CASCADE, related_name="own_lorebook"
    )
    characters = models.ManyToManyField(
        Character, blank=True, related_name="shared_lorebooks", help_text="Characters this shared book is attached to."
    )
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True, default="")
    scan_depth = models.PositiveIntegerField(null=True, blank=True, help_text="Recent messages scanned (2 if empty).")
    token_budget = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens the book may add per turn.")
    recursive_scanning = models.BooleanField(null=True, blank=True, help_text="Entries fire entries (on if empty).")
    extensions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "name"], condition=models.Q(owner__isnull=True), name="lorebook_shared_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name or (f"{self.owner_id} (own book)" if self.owner_id else self.id)


class LorebookEntry(models.Model):
    """One entry of a book, with every Card V2 field; ``entry_id`` is its stable id within the book (Card V2's
    numeric ``id``), ``ordinal`` its place in the book's list."""

    id = prefixed_id_field("lbe")
    lorebook = models.ForeignKey(Lorebook, on_delete=models.CASCADE, related_name="entries")
    entry_id = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField(default=0)
    keys = models.JSONField(default=list, blank=True)
    secondary_keys = models.JSONField(default=list, blank=True)
    selective = models.BooleanField(null=True, blank=True)
    selective_logic = models.CharField(
        max_length=8,
        default="and_any",
        choices=[("and_any", "AND ANY"), ("not_all", "NOT ALL"), ("not_any", "NOT ANY"), ("and_all", "AND ALL")],
    )
    content = models.TextField(blank=True, default="")
    constant = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    insertion_order = models.IntegerField(default=100)
    position = models.CharField(
        max_length=12, default="before_char", choices=[("before_char", "before_char"), ("after_char", "after_char")]
    )
    probability = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    case_sensitive = models.BooleanField(null=True, blank=True)
    use_regex = models.BooleanField(default=False)
    priority = models.IntegerField(null=True, blank=True)
    extensions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["lorebook", "ordinal"]
        verbose_name_plural = "lorebook entries"
        constraints = [
            models.UniqueConstraint(fields=["lorebook", "entry_id"], name="lorebook_entry_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.comment or ", ".join(self.keys[:3]) or f"entry {self.entry_id}"
