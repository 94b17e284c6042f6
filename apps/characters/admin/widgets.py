"""The two repeatable editors of the character form: rows of one value each, and key/value rows.

Both work without JavaScript: every row is a plain input named alike (the browser posts them as a list, read
back with ``getlist``) and a few blank rows are always there to fill in; blank rows are dropped. With
JavaScript (``static/dramatis/character-admin.js``) the "Add a row" and "Remove" buttons appear.
"""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

BLANK_ROWS = 2


def _input(name: str, value: str, *, multiline: bool, label: str, extra: str = "") -> str:
    if multiline:
        return format_html(
            '<textarea name="{}" rows="2" cols="60" aria-label="{}" class="vLargeTextField"{}>{}</textarea>',
            name,
            label,
            extra,
            value,
        )
    return format_html(
        '<input type="text" name="{}" value="{}" aria-label="{}" class="vTextField"{}>', name, value, label, extra
    )


class RowsWidget(forms.Widget):
    """A list of texts, one input per row (``value`` is a list of strings)."""

    def __init__(self, *, multiline: bool = False, attrs=None) -> None:
        super().__init__(attrs)
        self.multiline = multiline

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else list(data.get(name) or [])

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False  # an empty list is a value: all rows removed

    def render(self, name, value, attrs=None, renderer=None):
        # Blank rows posted back with an error are not kept: the page always ends with BLANK_ROWS fresh ones.
        rows = [str(item) for item in (value or []) if str(item).strip()] + [""] * BLANK_ROWS
        element_id = (attrs or {}).get("id") or f"id_{name}"
        html_rows = format_html_join(
            "",
            '<div class="authoring-row">{}'
            '<button type="button" class="authoring-row-remove" hidden>Remove</button></div>',
            (
                (_input(name, row, multiline=self.multiline, label=f"{name} row {index + 1}"),)
                for index, row in enumerate(rows)
            ),
        )
        return format_html(
            '<div class="authoring-rows" id="{}" data-name="{}">{}'
            '<button type="button" class="authoring-row-add" hidden>Add a row</button></div>',
            element_id,
            name,
            html_rows,
        )


class KeyValueWidget(forms.Widget):
    """Key/value rows (``value`` is a list of (key, value text) pairs); posted as ``<name>__key`` and
    ``<name>__value`` lists, paired by position."""

    def value_from_datadict(self, data, files, name):
        getlist = data.getlist if hasattr(data, "getlist") else lambda key: list(data.get(key) or [])
        return list(zip(getlist(f"{name}__key"), getlist(f"{name}__value"), strict=False))

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False

    def render(self, name, value, attrs=None, renderer=None):
        pairs = [(str(key), str(text)) for key, text in (value or []) if str(key).strip() or str(text).strip()]
        pairs += [("", "")] * BLANK_ROWS
        element_id = (attrs or {}).get("id") or f"id_{name}"
        html_rows = format_html_join(
            "",
            '<div class="authoring-row authoring-pair">{} {}'
            '<button type="button" class="authoring-row-remove" hidden>Remove</button></div>',
            (
                (
                    _input(
                        f"{name}__key",
                        key,
                        multiline=False,
                        label=f"{name} key {index + 1}",
                        extra=mark_safe(' placeholder="key"'),
                    ),
                    _input(
                        f"{name}__value",
                        text,
                        multiline=False,
                        label=f"{name} value {index + 1}",
                        extra=mark_safe(' placeholder="value"'),
                    ),
                )
                for index, (key, text) in enumerate(pairs)
            ),
        )
        return format_html(
            '<div class="authoring-rows" id="{}" data-name="{}">{}'
            '<button type="button" class="authoring-row-add" hidden>Add a row</button></div>',
            element_id,
            name,
            html_rows,
        )
