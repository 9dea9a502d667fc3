"""Fuzzing of the whole REST API from its own OpenAPI schema (schemathesis): requests that
fit the schema and requests that break it, generated deterministically (the same ones on
every run), never get a 5xx. About two minutes; each 5xx it found has its own regression test.

Requests go through the real WSGI application, as a client's would. Django closes its
database connection around each WSGI request, which a test transaction cannot survive, so
this test runs on committed data (`transactional_db`).
"""

import re

import factory.random
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from integrations.models import TenantIntegration
from integrations.packages import PackageTarget, package_runs_start
from integrations.services import integration_send_test_event
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    PackageTemplateFactory,
    TenantIntegrationFactory,
    WorkItemFactory,
)
from tests.helpers import closed_port

# Per operation and mode; with some 70 operations this test is the suite's longest. Raise it
# locally (deterministic generation: the same cases every run) when changing a serializer.
EXAMPLES_PER_OPERATION = 30


def integration_receiving_nothing(*, tenant):
    """A signed webhook integration whose receiver is down (a closed local port): connection
    tests fail at once, without leaving the machine."""
    return TenantIntegrationFactory(
        tenant=tenant,
        config={"url": f"http://127.0.0.1:{closed_port()}/hook", "sign": True},
        secrets={"signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    )


def a_sync(*, tenant):
    return integration_send_test_event(integration=integration_receiving_nothing(tenant=tenant))


def a_package_run(*, tenant):
    """A queued run on a Jira site that is down (a closed local port); no worker takes it here."""
    template = PackageTemplateFactory(tenant=tenant)
    integration = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="jira",
        event_types=[],
        config={"site_url": f"http://127.0.0.1:{closed_port()}", "email": "a@example.com", "project_key": "SVC"},
        secrets={"api_token": "fuzz-api-token-0000"},
    )
    target = PackageTarget(integration=integration, project_key="SVC", elements=list(template.elements.all()))
    return package_runs_start(workitem=WorkItemFactory(tenant=tenant), template=template, targets=[target])[0]


# The object behind `{id}` in each resource's routes, made fresh for every request that names one.
FACTORIES = {
    "workitems": WorkItemFactory,
    "customers": CustomerFactory,
    "assets": CustomerAssetFactory,
    "dropoff-points": DropoffPointFactory,
    "integrations": integration_receiving_nothing,
    "syncs": a_sync,
    "package-templates": PackageTemplateFactory,
    "package-runs": a_package_run,
}
RESOURCE = re.compile(r"/api/v1/(?P<resource>[^/]+)/\{id\}/")


@pytest.fixture
def auth_headers(owner) -> dict[str, str]:
    """The tenant's owner: one membership, so X-Tenant may be left out (or fuzzed)."""
    return {"Authorization": f"Token {Token.objects.get_or_create(user=owner)[0].key}"}


@pytest.fixture
def api_schema(transactional_db, auth_headers):
    factory.random.reseed_random("fieldhook-api-fuzz")
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
        database="none",
    )
    probe = schema["/api/v1/workitems/"]["GET"].Case().call(headers=auth_headers)
    assert probe.status_code == 200, "the fuzzed requests would not reach the views"
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.timeout(600)  # one test for all operations: about two and a half minutes here, more on a busy CI machine
@schema.parametrize()
# Hypothesis' health checks judge how fast and how well inputs are generated; an API on a real
# database is slow to call by their measure, and the number of examples is fixed anyway.
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, tenant, auth_headers):
    # Integrations made by earlier requests would each receive every later work-item event:
    # slow, and not what any one request is about.
    TenantIntegration.objects.filter(tenant=tenant).delete()
    name_an_existing_object(case, tenant=tenant)

    response = case.call(headers=auth_headers)

    assert response.status_code < 500, f"{response.status_code} for {case.as_curl_command()}\n{response.text[:500]}"


def name_an_existing_object(case, *, tenant) -> None:
    """A numeric `{id}` becomes a fresh object of the tenant, so that the request reaches the
    view's validation instead of a 404; other ids (negative cases) are sent as generated."""
    match = RESOURCE.match(case.path)
    if match is None or not re.fullmatch(r"\d+", str(case.path_parameters.get("id"))):
        return
    resource = match["resource"]
    assert resource in FACTORIES, f"add a factory for /api/v1/{resource}/{{id}}/ to FACTORIES"
    case.path_parameters["id"] = FACTORIES[resource](tenant=tenant).pk
