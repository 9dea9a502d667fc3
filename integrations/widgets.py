"""A dict edited as a two-column table (e.g. a tool's status → a Fieldhook status).

Admins edit rows instead of typing JSON: every stored pair is a row of two text inputs,
plus a few empty rows to add more. Clearing both cells of a row removes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

EMPTY_ROWS = 3


class KeyValueTableWidget(forms.Widget):
    """Inputs are named `<name>-<row>-key` and `<name>-<row>-value`."""

    def __init__(
        self, *, key_label: str = "Key", value_label: str = "Value", attrs: dict[str, Any] | None = None
    ) -> None:
        super().__init__(attrs)
        self.key_label = key_label
        self.value_label = value_label

    def format_value(self, value: Any) -> dict[str, str]:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else {}
            except ValueError:
                return {}
        return {str(k): "" if v is None else str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer=None) -> str:
        rows = [*self.format_value(value).items(), *[("", "")] * EMPTY_ROWS]
        table_attrs = {"id": f"id_{name}", **self.build_attrs(self.attrs, attrs), "class": "key-value-table"}
        cells = format_html_join(
            "",
            '<tr><td><input type="text" name="{0}-{1}-key" value="{2}" aria-label="{4} {6}"></td>'
            '<td><input type="text" name="{0}-{1}-value" value="{3}" aria-label="{5} {6}"></td></tr>',
            (
                (name, index, key, val, self.key_label, self.value_label, index + 1)
                for index, (key, val) in enumerate(rows)
            ),
        )
        return format_html(
            "<table{}><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            flatatt(table_attrs),
            self.key_label,
            self.value_label,
            cells,
        )

    def _row_indexes(self, data: Mapping[str, Any], name: str) -> list[int]:
        pattern = re.compile(rf"^{re.escape(name)}-(\d+)-(?:key|value)$")
        return sorted({int(match.group(1)) for field in data if (match := pattern.match(field))})

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> dict[str, str]:
        """The rows as a dict, in row order; a half-filled row is kept so that validation can name it."""
        pairs: dict[str, str] = {}
        for index in self._row_indexes(data, name):
            key = (data.get(f"{name}-{index}-key") or "").strip()
            val = (data.get(f"{name}-{index}-value") or "").strip()
            if key or val:
                pairs[key] = val
        return pairs

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return not self._row_indexes(data, name)

    def id_for_label(self, id_: str) -> str:
        return id_

    def use_required_attribute(self, initial: Any) -> bool:
        return False  # a table has no `required`; the field validates


class KeyValueTableField(forms.Field):
    """A dict of non-empty text keys; values limited to `value_choices` when given."""

    widget = KeyValueTableWidget
    default_error_messages = {
        "missing_key": "A row has “%(value)s” but no %(key_label)s.",
        "missing_value": "Choose a %(value_label)s for “%(key)s”.",
        "invalid_value": "“%(value)s” (for “%(key)s”) is not one of: %(choices)s.",
        "duplicate_key": "“%(key)s” appears twice (names are compared case-insensitively).",
    }

    def __init__(
        self,
        *,
        value_choices: Iterable[str] | None = None,
        key_label: str = "Key",
        value_label: str = "Value",
        **kwargs: Any,
    ) -> None:
        self.value_choices = list(value_choices) if value_choices is not None else None
        self.key_label = key_label
        self.value_label = value_label
        kwargs.setdefault("widget", KeyValueTableWidget(key_label=key_label, value_label=value_label))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict[str, str]:
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("Enter the rows of the table.", code="invalid") from None
        if not isinstance(value, Mapping):
            raise ValidationError("Enter the rows of the table.", code="invalid")
        return {str(k).strip(): str(v).strip() for k, v in value.items()}

    def validate(self, value: dict[str, str]) -> None:
        super().validate(value)
        labels = {"key_label": self.key_label, "value_label": self.value_label}
        seen: set[str] = set()
        for key, val in value.items():
            if not key:
                raise ValidationError(self.error_messages["missing_key"], "missing_key", {"value": val, **labels})
            if key.casefold() in seen:
                raise ValidationError(self.error_messages["duplicate_key"], "duplicate_key", {"key": key})
            seen.add(key.casefold())
            if not val:
                raise ValidationError(self.error_messages["missing_value"], "missing_value", {"key": key, **labels})
            if self.value_choices is not None and val not in self.value_choices:
                params = {"key": key, "value": val, "choices": ", ".join(self.value_choices)}
                raise ValidationError(self.error_messages["invalid_value"], "invalid_value", params)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)
