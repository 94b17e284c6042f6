"""The character page's form: the parts (``parts``, derived from the content shape) as fields of one ModelForm,
validated by ``content_validate`` (the same as POST /v1/characters), whose errors are put back beside their fields
(``behavioral_thresholds.daily_image_cap`` -> that number input, ``voice_samples[1]`` -> the voice samples rows,
"Item 2: ..."). The form only turns posted text into content; the rules are the domain's.

The whole draft stays editable as JSON (``content_json``, chosen with ``editor``), under the same validation.
"""

import json
import re
from dataclasses import replace
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from apps.characters.content import content_validate
from apps.characters.models import Character
from apps.core.errors import ValidationFailed
from apps.core.shapes import MISSING

from .parts import LOOSE_HELP, PARTS, SECTION_PARTS, Part, field_for_path, section_description


def _error_message(path: str, target: str, message: str) -> str:
    index = re.search(r"\[(\d+)\]", path)
    if PARTS[target].kind == "other":
        return f"{path.split('.')[1]}: {message}"
    if index is not None:
        return f"Item {int(index.group(1)) + 1}: {message}"
    return message


class CharacterFormBase(forms.ModelForm):
    """The parts' fields are added to this class by ``character_form_class`` (the admin builds its form from
    named fields, which must be declared on the class)."""

    editor = forms.ChoiceField(
        choices=[("form", "the form"), ("json", "JSON (the whole draft)")],
        initial="form",
        widget=forms.RadioSelect,
        label="Edit with",
        help_text="Both are validated the same way; what you did not save in one is not seen by the other.",
    )
    content_json = forms.CharField(
        required=False,
        strip=False,
        label="Draft as JSON",
        widget=forms.Textarea(attrs={"rows": 30, "class": "vLargeTextField authoring-json-text"}),
        help_text="The body POST /v1/characters accepts. Used when 'Edit with' is JSON.",
    )

    class Meta:
        model = Character
        fields = ["app", "slug", "display_name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.existing = not self.instance._state.adding  # (ids are made before saving: pk is no sign)
        draft = dict(self.instance.draft or {}) if self.existing else {}
        if self.existing:
            draft.setdefault("slug", self.instance.slug)
            draft.setdefault("display_name", self.instance.display_name)
        self.content: dict[str, Any] | None = None
        self.parts: dict[str, Part] = {}
        for name, part in PARTS.items():
            if name not in self.fields:
                continue
            if not part.fits(draft):
                part = replace(part, kind="loose_area", help_text=f"{part.help_text} {LOOSE_HELP}".strip())
                self.fields[name] = part.form_field()
            self.fields[name].initial = part.initial(draft)
            self.parts[name] = part
        if "slug" in self.fields and self.existing:
            self.fields["slug"].disabled = True  # a character's slug never changes
            self.fields["slug"].initial = self.instance.slug
        self.fields["content_json"].initial = json.dumps(draft, ensure_ascii=False, indent=2)

    def _content_from_parts(self) -> dict[str, Any]:
        content: dict[str, Any] = {}
        for name, part in self.parts.items():
            if name in self.errors:
                continue
            try:
                value = part.content_value(self.cleaned_data.get(name))
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            if value is MISSING:
                continue
            if part.kind == "other":
                content.setdefault(part.path[0], {}).update(value)
            elif len(part.path) == 1:
                content[part.path[0]] = value
            else:
                content.setdefault(part.path[0], {})[part.path[1]] = value
        return content

    def _content_from_json(self) -> Any:
        try:
            return json.loads(self.cleaned_data.get("content_json") or "{}")
        except ValueError as error:
            self.add_error("content_json", f"Not valid JSON: {error}.")
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        as_json = cleaned.get("editor") == "json"
        data = self._content_from_json() if as_json else self._content_from_parts()
        if data is None:
            return cleaned
        if self.existing and isinstance(data, dict):
            data["slug"] = self.instance.slug
        try:
            content = content_validate(data)
        except ValidationFailed as error:
            self._errors_place(error.fields, as_json=as_json)
            return cleaned
        if self.errors:
            return cleaned
        self.content = content
        # The model's own columns follow the content (and the app + slug uniqueness check sees the real slug).
        cleaned["slug"], cleaned["display_name"] = content["slug"], content["display_name"]
        return cleaned

    def _errors_place(self, problems: dict[str, list[str]], *, as_json: bool) -> None:
        """Each problem beside its field (or, in the JSON view, on the JSON with its path)."""
        for path, messages in problems.items():
            target = None if as_json else field_for_path(path)
            if target is None or target not in self.fields:
                field = "content_json" if as_json else NON_FIELD_ERRORS
                for message in messages:
                    self.add_error(field, f"{path}: {message}")
                continue
            already = set(self.errors.get(target, []))
            for message in messages:
                text = _error_message(path, target, message)
                if text not in already:
                    self.add_error(target, text)
                    already.add(text)


def character_form_class() -> type[CharacterFormBase]:
    """The form class with one declared field per part."""
    attrs = {name: part.form_field() for name, part in PARTS.items()}
    attrs["__module__"] = __name__
    return type("CharacterAuthoringForm", (CharacterFormBase,), attrs)


CharacterAuthoringForm = character_form_class()


def form_fieldsets() -> list[tuple[str, dict[str, Any]]]:
    """The admin fieldsets of the content parts (marked as the form view, described by the split fields' docs)."""
    return [
        (
            title,
            {
                "fields": [part.name for part in parts],
                "classes": ["authoring-form"],
                "description": section_description(parts),
            },
        )
        for title, parts in SECTION_PARTS
    ]
