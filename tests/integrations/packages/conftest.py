"""Fixtures of the package tests: two Jira sites behind the fake (any request Jira would
refuse fails the test), a Jira integration of acme on each, a template and a work item."""

import pytest
import responses

from tests.factories import PackageTemplateFactory, TenantIntegrationFactory, WorkItemFactory
from tests.fakes.jira import API_TOKEN, EMAIL, PROJECT, SITE_URL, FakeJira

EU_SITE_URL = "https://acme-eu.atlassian.net"
EU_API_TOKEN = "ATATT3xFfGF0-jira-eu-token-77a2"


@pytest.fixture
def sites():
    """The fake Jira sites (US, EU); requests anywhere else fail as connection errors."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        us = FakeJira().install(mock)
        eu = FakeJira(site_url=EU_SITE_URL, api_token=EU_API_TOKEN).install(mock)
        yield us, eu
    assert us.violations == [], "requests the real Jira would refuse"
    assert eu.violations == [], "requests the real Jira would refuse"


def jira_integration(tenant, *, name: str, site_url: str, api_token: str):
    """A Jira integration that receives no work-item events (only packages), without a rate limit to wait for."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name=name,
        integration_type="jira",
        event_types=[],
        rate_limit_per_second=1000,
        config={"site_url": site_url, "email": EMAIL, "project_key": PROJECT},
        secrets={"api_token": api_token},
    )


@pytest.fixture
def jira_us(tenant):
    return jira_integration(tenant, name="Jira US", site_url=SITE_URL, api_token=API_TOKEN)


@pytest.fixture
def jira_eu(tenant):
    return jira_integration(tenant, name="Jira EU", site_url=EU_SITE_URL, api_token=EU_API_TOKEN)


@pytest.fixture
def template(tenant):
    """Four children linked to a Task parent ("Relates")."""
    return PackageTemplateFactory(tenant=tenant, name="Laptop repair", child_issue_type="Task", elements=4)


@pytest.fixture
def workitem(tenant):
    return WorkItemFactory(tenant=tenant, description="Cracked screen")
