"""The lorebook admin: a book with its entries as inline rows, and the characters it is attached to.

Django's admin writes the rows (the book, its entries, its attachments) in its one transaction per save; then
``services.lorebook_admin_saved`` publishes, in that same transaction, the next version of every character the
book belongs to, is attached to, or was attached to before the save, as the API's writes do. Each entry row is
checked by the same rules as the API's body (``book_body_validate``), its errors shown beside its fields.
"""

import re

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils.html import format_html

from apps.characters import services
from apps.characters.lore.body import book_body_validate
from apps.characters.models import Lorebook, LorebookEntry
from apps.core.admin_scoping import TenantScopedAdmin, TenantScopedInline
from apps.core.errors import ValidationFailed

_ENTRY_FORM_FIELDS = (
    "keys",
    "secondary_keys",
    "selective",
    "selective_logic",
    "content",
    "constant",
    "enabled",
    "insertion_order",
    "position",
    "probability",
    "comment",
    "name",
    "case_sensitive",
    "use_regex",
    "priority",
    "extensions",
)
_FIRST_PART = re.compile(r"^entries\[0\]\.([a-z_]+)")


class LorebookEntryForm(forms.ModelForm):
    class Meta:
        model = LorebookEntry
        fields = ("ordinal", "entry_id", *_ENTRY_FORM_FIELDS)
        widgets = {"content": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry_id"].required = False
        self.fields["entry_id"].help_text = "Stable id in the book; given on save when empty."
        self.fields["ordinal"].required = False

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("DELETE"):
            return cleaned
        entry = {name: cleaned.get(name) for name in _ENTRY_FORM_FIELDS}
        entry = {name: value for name, value in entry.items() if value not in (None, "")} | {
            "content": cleaned.get("content") or ""
        }
        try:
            book_body_validate({"entries": [entry]})
        except ValidationFailed as error:
            for path, messages in error.fields.items():
                found = _FIRST_PART.match(path)
                name = found.group(1) if found and found.group(1) in self.fields else None
                self.add_error(name, f"{path.removeprefix('entries[0].')}: {' '.join(messages)}")
        return cleaned


class LorebookEntryInline(TenantScopedInline, admin.StackedInline):
    model = LorebookEntry
    form = LorebookEntryForm
    extra = 0
    ordering = ("ordinal",)
    fieldsets = [
        (None, {"fields": [("keys", "secondary_keys"), ("selective", "selective_logic"), "content"]}),
        (
            "Activation",
            {
                "fields": [
                    ("constant", "enabled", "use_regex", "case_sensitive"),
                    ("insertion_order", "position", "probability", "priority"),
                    ("name", "comment"),
                    "extensions",
                    ("entry_id", "ordinal"),
                ]
            },
        ),
    ]


class LorebookForm(forms.ModelForm):
    class Meta:
        model = Lorebook
        fields = (
            "app",
            "name",
            "description",
            "owner",
            "characters",
            "scan_depth",
            "token_budget",
            "recursive_scanning",
            "extensions",
        )

    def clean(self):
        cleaned = super().clean()
        app = cleaned.get("app") or getattr(self.instance, "app", None)
        owner, characters = cleaned.get("owner"), cleaned.get("characters") or []
        if app is None:
            return cleaned
        if owner is not None and owner.app_id != app.pk:
            self.add_error("owner", "The owner must be a character of the book's app.")
        if owner is not None and characters:
            self.add_error("characters", "A character's own book is not attached to others: clear the owner first.")
        if any(character.app_id != app.pk for character in characters):
            self.add_error("characters", "Attach only characters of the book's app.")
        if owner is None and not (cleaned.get("name") or "").strip():
            self.add_error("name", "A shared lorebook needs a name (unique in its app).")
        return cleaned


@admin.register(Lorebook)
class LorebookAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """A book and its entries; saving publishes every character that uses it (see the module)."""

    app_path = "app"
    form = LorebookForm
    inlines = [LorebookEntryInline]
    list_display = ("__str__", "app", "owner", "entry_count", "updated_at")
    list_select_related = ("app", "owner")
    list_filter = ("app",)
    search_fields = ("name", "owner__slug")
    filter_horizontal = ("characters",)
    readonly_fields = ("id", "created_at", "updated_at")
    fieldsets = [
        (None, {"fields": ["app", "name", "description", "owner", "characters"]}),
        ("Scanning", {"fields": [("scan_depth", "token_budget", "recursive_scanning"), "extensions"]}),
        ("Record", {"fields": ["id", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entries_total=Count("entries"))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *(("app",) if obj else ()))

    @admin.display(description="entries", ordering="entries_total")
    def entry_count(self, obj: Lorebook) -> int:
        return obj.entries_total

    def save_model(self, request, obj, form, change):
        # Who used the book before this save: they get a version without it if it was taken away from them.
        before = []
        if change:
            before = [*Lorebook.objects.filter(pk=obj.pk).values_list("owner_id", flat=True)]
            before += obj.characters.values_list("id", flat=True)
        obj._characters_before = before
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        entries = formset.save(commit=False)
        for gone in formset.deleted_objects:
            gone.delete()
        taken = LorebookEntry.objects.filter(lorebook=form.instance).aggregate(
            top_id=Max("entry_id"), top_ordinal=Max("ordinal")
        )
        next_id = (taken["top_id"] if taken["top_id"] is not None else -1) + 1
        next_ordinal = (taken["top_ordinal"] if taken["top_ordinal"] is not None else -1) + 1
        for entry in entries:
            if entry.entry_id is None:
                entry.entry_id, next_id = next_id, next_id + 1
            if entry.ordinal is None:
                entry.ordinal, next_ordinal = next_ordinal, next_ordinal + 1
            entry.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = [character_id for character_id in getattr(form.instance, "_characters_before", []) if character_id]
        published = services.lorebook_admin_saved(
            lorebook=form.instance, character_ids=before, published_by=request.user
        )
        made = sorted(result.character.slug for result in published.values() if result.created_version)
        if made:
            self.message_user(request, f"Published a new version of: {', '.join(made)}.")

    def delete_model(self, request, obj):
        services.lorebook_admin_delete(lorebook=obj, published_by=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for book in queryset:
                services.lorebook_admin_delete(lorebook=book, published_by=request.user)


def lorebook_link(character) -> str:
    """The character page's link to its own book (or to a new one) and to its shared books."""
    own = Lorebook.objects.filter(owner=character).first()
    if own is not None:
        own_link = format_html(
            '<a href="{}">Edit its lorebook</a>', reverse("admin:characters_lorebook_change", args=[quote(own.pk)])
        )
    else:
        query = f"app={character.app_id}&owner={character.pk}&name={character.slug}"
        own_link = format_html('<a href="{}?{}">Add a lorebook</a>', reverse("admin:characters_lorebook_add"), query)
    shared = Lorebook.objects.filter(characters=character).order_by("name")
    links = [
        format_html('<a href="{}">{}</a>', reverse("admin:characters_lorebook_change", args=[quote(b.pk)]), b.name)
        for b in shared
    ]
    if not links:
        return own_link
    return format_html("{} · shared: {}", own_link, format_html(", ".join(["{}"] * len(links)), *links))
