"""The contract every registered integration kind passes; a new kind gets these checks by being
registered (and by giving the suite a `tests/integrations/connectors/<kind>/contract.py` with
`BASE_URL`, a valid admin form `SETTINGS` and the `SECRET_VALUES` that must never show).

- it registers by dotted path and imports (lazily: see test_registry.py);
- its config round-trips through the admin form, and no secret is ever rendered back;
- a delivery's failures map to the right error class: timeout, connection, 4xx permanent,
  401/403 auth, 429 with Retry-After, 5xx; and no secret reaches a stored error;
- every capability it declares is implemented.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import pytest
import requests
import responses
from django.urls import reverse

from integrations.connectors import http, registry
from integrations.connectors.base import Capability, Connector
from integrations.connectors.config import OAuthClientConfig, PollingConfig
from integrations.connectors.errors import ErrorClass
from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, IntegrationSync, SyncAttempt, TenantIntegration
from tests.factories import WorkItemFactory

ADD = reverse("admin:integrations_tenantintegration_add")
KINDS = registry.kinds()
DELIVERING = [kind for kind in KINDS if Capability.DELIVERS in registry.get(kind).capabilities]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "MKCOL", "PROPFIND"]

# Which methods a declared capability obliges a kind to implement.
REQUIRED = {
    Capability.DELIVERS: ["deliver", "test_connection"],
    Capability.POLLS: ["remote_statuses", "local_status_for"],
    Capability.RECEIVES_WEBHOOKS: ["inbound_verify", "inbound_parse", "local_status_for"],
    Capability.OAUTH2: ["oauth_endpoints", "oauth_account_name"],
    Capability.CONNECTION_STATE: ["connection_state"],
    Capability.CREATES_PACKAGES: [
        "package_find",
        "package_create_parent",
        "package_create_children",
        "package_link_child",
    ],
}


def contract(kind: str) -> ModuleType:
    return importlib.import_module(f"tests.integrations.connectors.{kind}.contract")


def admin_form(tenant, kind: str, **overrides) -> dict:
    data = {
        "tenant": tenant.pk,
        "name": f"Contract {kind}",
        "integration_type": kind,
        "event_types": [EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        **{f"cfg_{name}": value for name, value in contract(kind).SETTINGS.items()},
    }
    data.update(overrides)
    return data


@pytest.fixture
def saved(superuser_client, tenant, request) -> TenantIntegration:
    kind = request.param
    response = superuser_client.post(ADD, admin_form(tenant, kind), follow=True)
    form = response.context and response.context.get("adminform")
    assert response.redirect_chain, form and form.form.errors
    return TenantIntegration.objects.get(tenant=tenant, integration_type=kind)


@pytest.fixture
def no_read_pauses(monkeypatch):
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)


def answer_everything(rsps: responses.RequestsMock, base_url: str, **answer) -> None:
    """Every request to the tool, whatever its method or path, gets `answer`."""
    everything = re.compile(re.escape(base_url.rstrip("/")) + r"(/.*)?$")
    for method in METHODS:
        rsps.add(method, everything, **answer)


# --- Registration ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_it_is_registered_by_a_dotted_path_to_a_connector_of_its_kind(kind):
    connector = registry.get(kind)

    assert issubclass(connector, Connector)
    assert connector.kind == kind
    assert f"{connector.__module__}.{connector.__qualname__}" == registry.paths[kind]
    assert connector.__module__.startswith(f"integrations.connectors.{kind}.")


@pytest.mark.parametrize("kind", KINDS)
def test_every_capability_it_declares_is_implemented(kind):
    connector = registry.get(kind)

    missing = [
        f"{capability}: {method}"
        for capability in connector.capabilities
        for method in REQUIRED.get(capability, [])
        if getattr(connector, method) is getattr(Connector, method)
    ]

    assert missing == []
    if Capability.POLLS in connector.capabilities:
        assert issubclass(connector.config_class, PollingConfig)
    if Capability.OAUTH2 in connector.capabilities:
        assert issubclass(connector.config_class, OAuthClientConfig)
        assert "oauth_client_secret" in connector.secret_field_names()


@pytest.mark.parametrize("kind", KINDS)
def test_every_setting_is_explained_and_every_destination_is_a_setting(kind):
    connector = registry.get(kind)
    names = [spec.name for spec in connector.config_fields]

    assert [spec.name for spec in connector.config_fields if not spec.form_field.help_text] == []
    assert set(connector.destination_fields) <= set(names)
    assert set(names) - connector.secret_field_names() <= set(connector.config_class.__dataclass_fields__)


# --- The admin form ---------------------------------------------------------------------------


@pytest.mark.parametrize("saved", KINDS, indirect=True)
def test_its_settings_round_trip_through_the_admin_form(superuser_client, saved):
    kind = saved.integration_type
    connector = registry.get(kind)
    settings = contract(kind).SETTINGS
    stored_secrets = saved.secrets

    for name in connector.secret_field_names() & set(settings):
        assert stored_secrets[name]
    change = reverse("admin:integrations_tenantintegration_change", args=[saved.pk])
    resave = {**admin_form(saved.tenant, kind), **{f"cfg_{name}": "" for name in connector.secret_field_names()}}
    resave.pop("tenant")
    response = superuser_client.post(change, resave, follow=True)

    assert response.redirect_chain, response.context["adminform"].form.errors
    saved.refresh_from_db()
    assert saved.secrets == stored_secrets
    assert saved.config == TenantIntegration.objects.get(pk=saved.pk).config


@pytest.mark.parametrize("saved", KINDS, indirect=True)
def test_no_secret_is_ever_rendered_back(superuser_client, saved):
    page = superuser_client.get(reverse("admin:integrations_tenantintegration_change", args=[saved.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert [secret for secret in contract(saved.integration_type).SECRET_VALUES if secret in html] == []


# --- Delivery errors -------------------------------------------------------------------------


def deliver_created(integration: TenantIntegration) -> tuple[IntegrationSync, SyncAttempt]:
    workitem = WorkItemFactory(tenant=integration.tenant)
    sync = IntegrationSync.objects.get(integration=integration, object_id=workitem.pk)
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    return sync, sync.attempt_log.get()


ANSWERS = {
    "timeout": ({"body": requests.ReadTimeout("read timed out")}, ErrorClass.TIMEOUT, False),
    "connection": ({"body": requests.ConnectionError("Connection refused")}, ErrorClass.CONNECTION, False),
    "400": ({"status": 400, "body": "bad request"}, ErrorClass.CLIENT, True),
    "401": ({"status": 401, "body": "who are you"}, ErrorClass.AUTH, True),
    "403": ({"status": 403, "body": "not you"}, ErrorClass.AUTH, True),
    "429": ({"status": 429, "headers": {"Retry-After": "30"}, "body": "slow down"}, ErrorClass.RATE_LIMITED, False),
    "500": ({"status": 500, "body": "oops"}, ErrorClass.SERVER, False),
    "503": ({"status": 503, "body": "down"}, ErrorClass.SERVER, False),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("saved", DELIVERING, indirect=True)
def test_a_failed_delivery_is_classified_by_what_went_wrong(saved, answer, no_read_pauses):
    reply, error_class, permanent = ANSWERS[answer]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        answer_everything(rsps, contract(saved.integration_type).BASE_URL, **reply)

        sync, attempt = deliver_created(saved)

    assert attempt.error_class == error_class
    assert sync.status == (IntegrationSync.Status.FAILED if permanent else IntegrationSync.Status.PENDING)
    if answer == "429":
        assert (sync.next_attempt_at - attempt.started_at).total_seconds() >= 30


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("saved", DELIVERING, indirect=True)
def test_no_secret_reaches_a_stored_error_even_when_the_tool_echoes_the_request(saved, status, no_read_pauses):
    def echo(request):
        headers = "\n".join(f"{name}: {value}" for name, value in request.headers.items())
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        return status, {}, f"{request.method} {request.url}\n{headers}\n\n{body}"

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        everything = re.compile(re.escape(contract(saved.integration_type).BASE_URL) + r"(/.*)?$")
        for method in METHODS:
            rsps.add_callback(method, everything, callback=echo)

        sync, attempt = deliver_created(saved)

    stored = " ".join([sync.last_error, attempt.error, attempt.response_excerpt])
    assert attempt.response_excerpt or attempt.error
    assert [secret for secret in contract(saved.integration_type).SECRET_VALUES if secret in stored] == []
