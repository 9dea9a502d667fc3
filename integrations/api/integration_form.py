"""The API's integration writes run the admin's form (integrations/forms.py): one set of rules.

A body `{kind, name, events, active, config: {…}, secrets: {…}, …}` becomes the form's data:
the values the form would show for the integration (the stored one, or a new one's defaults)
overlaid with what the body sends. A secret left out keeps its stored value, as a blank
secret field does in the admin. The form's errors come back under the API's names
(`kind`, `events`, `config.url`, `secrets.basic_password`, …).
"""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.connectors import registry
from integrations.forms import PREFIX, TenantIntegrationForm, integration_form_for
from integrations.models import TenantIntegration
from tenants.models import Tenant

# API name → form (and model) field name; the serializer's `source=`s are these.
FORM_NAMES = {
    "kind": "integration_type",
    "name": "name",
    "events": "event_types",
    "active": "is_active",
    "max_attempts": "max_attempts",
    "retry_backoff_seconds": "retry_backoff_seconds",
    "rate_limit_per_second": "rate_limit_per_second",
    "backfill": "backfill",
}
API_NAMES = {form_name: api_name for api_name, form_name in FORM_NAMES.items()}
MODEL_FIELDS = [name for name in FORM_NAMES.values() if name != "backfill"]


class InvalidIntegration(Exception):
    """The body does not make a valid integration; `errors` maps API field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class _AsSent(forms.Widget):
    """Hands a field the JSON value as sent (the admin's widgets read HTML inputs)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data


def integration_form_validated(
    *,
    tenant: Tenant,
    instance: TenantIntegration | None,
    fields: dict[str, Any],
    config: dict[str, Any],
    secrets: dict[str, Any],
) -> TenantIntegrationForm:
    """The admin form for this body, validated: its `instance` is ready to save (config and
    secrets set), its `generated_secrets` and `cleaned_data["backfill"]` say the rest.
    `fields` are keyed by form names (FORM_NAMES' values). Raises InvalidIntegration."""
    kind = fields.get("integration_type")
    if instance is not None and kind is not None and kind != instance.integration_type:
        raise InvalidIntegration({"kind": ["The kind of an integration cannot change; create another integration."]})
    kind = instance.integration_type if instance is not None else kind
    form_class = forms.modelform_factory(TenantIntegration, form=integration_form_for(kind), fields=MODEL_FIELDS)
    instance = instance or TenantIntegration(tenant=tenant)
    shown = form_class(instance=instance)
    values = {name: shown[name].initial for name in shown.fields}
    values.update(fields)
    values.update(_settings_as_form_data(form_class, config=config, secrets=secrets))
    form = form_class(data=values, instance=instance)
    for field in form.fields.values():
        field.widget = _AsSent()
    if not form.is_valid():
        raise InvalidIntegration(_api_errors(form))
    return form


def _settings_as_form_data(
    form_class: type[TenantIntegrationForm], *, config: dict[str, Any], secrets: dict[str, Any]
) -> dict[str, Any]:
    """`config` and `secrets` as the form's `cfg_` fields; a name the kind does not have, a
    secret sent as config (or the reverse) or a value of the wrong JSON type is an error."""
    connector = form_class.connector
    if connector is None:  # no kind, or an unknown one: the form reports that on `kind`
        return {}
    secret_names = connector.secret_field_names()
    fields = {spec.name: spec.form_field for spec in connector.config_fields}
    errors: dict[str, list[str]] = {}
    values = {}
    for group, secret, sent in (("config", False, config), ("secrets", True, secrets)):
        for name, value in sent.items():
            if name not in fields:
                errors[f"{group}.{name}"] = [f"{connector.label} has no setting '{name}'."]
            elif (name in secret_names) != secret:
                other = "secrets" if name in secret_names else "config"
                errors[f"{group}.{name}"] = [f"'{name}' belongs in `{other}`."]
            elif problem := _type_problem(fields[name], value):
                errors[f"{group}.{name}"] = [problem]
            else:
                values[PREFIX + name] = value
    if errors:
        raise InvalidIntegration(errors)
    return values


def _type_problem(field: forms.Field, value: Any) -> str:
    """HTML forms only ever see strings; JSON values must have the type the field reads."""
    if value is None or isinstance(field, forms.JSONField):
        return ""
    if isinstance(field, forms.MultipleChoiceField):
        return "" if isinstance(value, list) else "Expected a list."
    if isinstance(field, forms.BooleanField):
        return "" if isinstance(value, bool) else "Expected true or false."
    if isinstance(field, forms.IntegerField | forms.FloatField):
        return "" if isinstance(value, int | float) and not isinstance(value, bool) else "Expected a number."
    if isinstance(field, forms.CharField | forms.ChoiceField):
        return "" if isinstance(value, str) else "Expected a string."
    return ""


def _api_errors(form: TenantIntegrationForm) -> dict[str, list[str]]:
    secret_names = form.connector.secret_field_names() if form.connector else set()
    errors = {}
    for name, messages in form.errors.items():
        if name.startswith(PREFIX):
            setting = name.removeprefix(PREFIX)
            api_name = f"{'secrets' if setting in secret_names else 'config'}.{setting}"
        elif name == forms.forms.NON_FIELD_ERRORS:
            api_name = "non_field_errors"
        else:
            api_name = API_NAMES.get(name, name)
        errors[api_name] = list(messages)
    return errors


def kind_config_fields(kind: str) -> list[dict[str, Any]]:
    """How the API asks for a kind's settings: name, whether secret, type, whether required,
    its default, label and help (read from the admin form's fields)."""
    connector = registry.get(kind)
    defaults = connector.config_class.defaults()
    described = []
    for spec in connector.config_fields:
        field = spec.form_field
        entry = {
            "name": spec.name,
            "secret": spec.secret,
            "type": _json_type(field),
            "required": bool(field.required),
            "label": str(field.label or spec.name),
            "help_text": str(field.help_text),
        }
        if isinstance(field, forms.ChoiceField):
            entry["choices"] = [str(value) for value, _ in field.choices if value != ""]
        if spec.name in defaults and not spec.secret:
            entry["default"] = defaults[spec.name]
        described.append(entry)
    return described


def _json_type(field: forms.Field) -> str:
    if isinstance(field, forms.JSONField):
        return "object"
    if isinstance(field, forms.BooleanField):
        return "boolean"
    if isinstance(field, forms.IntegerField):
        return "integer"
    if isinstance(field, forms.FloatField):
        return "number"
    if isinstance(field, forms.CharField | forms.ChoiceField):
        return "string"
    return "object"
