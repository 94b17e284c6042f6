"""The persona page's inputs that Django does not ship: a range slider showing its value, and repeatable text
rows (goals, core values) posted under one name. The page's script (static/dramatis/persona-admin.js) keeps
the shown values current and adds or removes rows."""

from django import forms
from django.utils.html import format_html, format_html_join


class RangeInput(forms.NumberInput):
    """``<input type=range>`` with its value shown beside it (an ``<output>`` the page's script keeps current)."""

    input_type = "range"

    def __init__(self, attrs=None):
        super().__init__({"min": "0", "max": "1", "step": "0.01", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        slider = super().render(name, value, attrs, renderer)
        try:
            shown = f"{float(value):.2f}"
        except (TypeError, ValueError):  # nothing yet, or what an invalid post sent back
            shown = ""
        return format_html(
            '{}<output for="{}" class="persona-value">{}</output>', slider, (attrs or {}).get("id"), shown
        )


class RowsWidget(forms.Widget):
    """Repeatable text rows posted under one name; the page's script adds and removes rows."""

    def __init__(self, attrs=None, add_label: str = "Add a row"):
        super().__init__(attrs)
        self.add_label = add_label

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False  # no rows means an empty list, not "not posted"

    def render(self, name, value, attrs=None, renderer=None):
        rows = format_html_join(
            "",
            '<div class="persona-row"><input type="text" name="{}" value="{}" class="vTextField">'
            '<button type="button" class="persona-row-remove" title="Remove">×</button></div>',
            ((name, item) for item in (value or [])),
        )
        return format_html(
            '<div class="persona-rows" data-name="{}" id="{}">{}'
            '<button type="button" class="persona-row-add">{}</button></div>',
            name,
            (attrs or {}).get("id", f"id_{name}"),
            rows,
            self.add_label,
        )


class RowsField(forms.Field):
    widget = RowsWidget

    def to_python(self, value) -> list[str]:
        if value in (None, ""):
            return []
        items = [value] if isinstance(value, str) else list(value)
        return [item.strip() for item in items if isinstance(item, str) and item.strip()]
