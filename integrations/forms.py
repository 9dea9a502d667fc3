"""The integration form: base fields plus the fields of the chosen kind.

Secrets are never rendered back: a secret field shows whether a value is stored, and
left blank it keeps that value — unless the integration now points elsewhere (another
type, or another scheme, host or port in a destination field): stored secrets are never
sent to a destination they were not entered for.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any
from urllib.parse import urlsplit

from django import forms

from integrations.connectors import registry
from integrations.connectors.base import Connector
from integrations.crypto import SecretsUnreadable
from integrations.models import SUBSCRIBABLE_EVENTS, TenantIntegration

PREFIX = "cfg_"
BLANK = (None, "", {})
DEFAULT_PORTS = {"http": 80, "https": 443}


class TenantIntegrationForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(event.value, event.label) for event in SUBSCRIBABLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Which work-item events are sent to this integration.",
    )
    backfill = forms.BooleanField(
        label="Send existing open work items",
        required=False,
        help_text="After saving, send workitem_created for the tenant's open work items this integration has "
        "not received yet (in the background, in batches; follow them under Integration syncs).",
    )
    connector: type[Connector] | None = None

    class Meta:
        model = TenantIntegration
        fields = [
            "tenant",
            "name",
            "integration_type",
            "event_types",
            "is_active",
            "max_attempts",
            "retry_backoff_seconds",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.generated_secrets: dict[str, str] = {}
        if "status_conflict_policy" in self.fields:
            # Left out of a POST (a script, an older page), the policy stays what it was.
            self.fields["status_conflict_policy"].required = False
        if self.connector is None:
            return
        stored_config = self.instance.config or {}
        stored_secrets = self._stored_secrets()
        defaults = self.connector.config_class.defaults()
        for spec in self.connector.config_fields:
            field = self.fields[PREFIX + spec.name]
            if spec.secret:
                field.required = False
                if stored_secrets.get(spec.name):
                    field.help_text = f"A value is stored (not shown). Leave blank to keep it. {field.help_text}"
            elif spec.name in stored_config:
                field.initial = stored_config[spec.name]
            elif spec.name in defaults:
                field.initial = defaults[spec.name]

    def clean_status_conflict_policy(self) -> str:
        return self.cleaned_data["status_conflict_policy"] or self.instance.status_conflict_policy

    def validate_unique(self) -> None:
        """Django skips the (tenant, name) constraint when the tenant is read-only (a saved
        integration), and the save would then fail in the database: check it here."""
        super().validate_unique()
        name = self.cleaned_data.get("name")
        if "tenant" in self.fields or not self.instance.tenant_id or not name:
            return
        taken = TenantIntegration.objects.filter(tenant_id=self.instance.tenant_id, name=name)
        if taken.exclude(pk=self.instance.pk).exists():
            self.add_error("name", f"An integration named “{name}” already exists for this tenant.")

    def _same_kind(self) -> bool:
        return not self.instance.pk or self.instance.integration_type == self.connector.kind

    def _stored_secrets(self) -> dict[str, Any]:
        """The stored secrets, if they belong to the kind being edited (a type change drops them)."""
        if not self._same_kind():
            return {}
        try:
            return self.instance.secrets
        except SecretsUnreadable:
            return {}

    def _label(self, name: str) -> str:
        return str(self.fields[PREFIX + name].label or name.replace("_", " "))

    def _destination_change(self, cleaned: dict[str, Any]) -> str:
        """Why stored secrets may not follow this save, or '': the scheme, host or port of a
        destination field changed (a change of path only keeps them)."""
        stored_config = self.instance.config or {}
        for name in self.connector.destination_fields:
            old, new = stored_config.get(name), cleaned.get(PREFIX + name)
            part = _origin_change(old, new) if old and new else ""
            if part:
                return f"The {self._label(name)}'s {part} changed"
        return ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.connector is None:
            return cleaned
        stored_secrets = self._stored_secrets()
        moved = self._destination_change(cleaned)
        values = {}
        for spec in self.connector.config_fields:
            value = cleaned.get(PREFIX + spec.name)
            if spec.secret and value in BLANK and stored_secrets.get(spec.name):
                if moved:
                    message = (
                        f"{moved}: enter the {self._label(spec.name)} again; "
                        "stored secrets are not sent to a new destination."
                    )
                    self.add_error(PREFIX + spec.name, message)
                value = stored_secrets[spec.name]
            values[spec.name] = value
        before = {name: values.get(name) for name in self.connector.secret_field_names()}
        values = self.connector.clean_config(values, _PrefixedErrors(self))
        self.generated_secrets = {name: values[name] for name, old in before.items() if not old and values.get(name)}
        secret_names = self.connector.secret_field_names()
        # Keys no form field covers were written by Fieldhook itself (OAuth tokens, the
        # connected account): a settings edit keeps them, a new destination or type does not.
        form_names = {spec.name for spec in self.connector.config_fields}
        carry_over = self._same_kind() and not moved
        kept_config = (
            {k: v for k, v in (self.instance.config or {}).items() if k not in form_names} if carry_over else {}
        )
        kept_secrets = {k: v for k, v in stored_secrets.items() if k not in form_names} if carry_over else {}
        self.instance.config = {**kept_config, **{k: v for k, v in values.items() if k not in secret_names}}
        self.instance.secrets = {**kept_secrets, **{k: v for k, v in values.items() if k in secret_names}}
        return cleaned


def _origin_change(old: str, new: str) -> str:
    """'scheme', 'host' or 'port': the first part of the URLs' origins that differs, or ''."""
    for part, before, after in zip(("scheme", "host", "port"), _origin(old), _origin(new), strict=True):
        if before != after:
            return part
    return ""


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, normalised: case, a trailing dot, IDNA, default ports."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(UnicodeError):  # not a valid IDNA name: compare it as written
        host = host.encode("idna").decode("ascii")
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, host, port or DEFAULT_PORTS.get(scheme)


class _PrefixedErrors:
    """Lets a connector report `add_error("url", ...)` onto the form's `cfg_url` field."""

    def __init__(self, form: forms.Form) -> None:
        self.form = form

    def add_error(self, field: str | None, message: str) -> None:
        self.form.add_error(PREFIX + field if field else None, message)


def integration_form_for(kind: str | None) -> type[TenantIntegrationForm]:
    """A form class with the config fields of `kind` (none when the kind is not chosen yet)."""
    if not kind or kind not in registry:
        return TenantIntegrationForm
    connector = registry.get(kind)
    attrs: dict[str, Any] = {PREFIX + spec.name: copy.deepcopy(spec.form_field) for spec in connector.config_fields}
    attrs["connector"] = connector
    return type(f"{connector.__name__}IntegrationForm", (TenantIntegrationForm,), attrs)


def config_field_names(kind: str | None) -> list[str]:
    if not kind or kind not in registry:
        return []
    return [PREFIX + spec.name for spec in registry.get(kind).config_fields]
