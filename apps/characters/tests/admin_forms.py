"""Helpers for the admin tests: the character form's posted data, the way a browser would post it."""

from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.characters.admin.parts import PARTS


def form_data(response) -> dict:
    """What the page's form would post unchanged: every field's current value, rows and key/value rows as lists
    (as the browser posts repeated inputs), disabled fields left out."""
    assert response.status_code == 200 and response.context is not None, (response.status_code, response.content[:800])
    form = response.context["adminform"].form
    data: dict = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value = bound.value()
        part = PARTS.get(bound.name)
        if part is not None and part.kind in {"pairs", "other"} and isinstance(value, list):
            data[f"{bound.name}__key"] = [key for key, _ in value]
            data[f"{bound.name}__value"] = [text for _, text in value]
        elif isinstance(value, list):
            data[bound.name] = value
        else:
            data[bound.name] = "" if value is None else value
    for formset in response.context["inline_admin_formsets"]:  # the assets app's read-only inline
        data.update({field.html_name: field.value() for field in formset.formset.management_form})
    return data


def change_url(character) -> str:
    return reverse("admin:characters_character_change", args=[quote(character.pk)])


ADD_URL = "/admin/characters/character/add/"


def form_errors(response) -> dict:
    """The errors of the page's form (the page must be the form again, not a redirect)."""
    assert response.status_code == 200 and response.context is not None, (response.status_code, response.content[:800])
    return response.context["adminform"].form.errors
