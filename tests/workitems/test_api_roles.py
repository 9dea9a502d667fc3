"""Roles in the API: a member reads, creates and updates work items, notes, customers,
assets and drop-off points; deleting any of them needs the tenant's admin role (403
otherwise). Another tenant's rows stay a 404 whatever the caller's role."""

import pytest

from tenants.models import Membership
from tests.conftest import token_client
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    MembershipFactory,
    WorkItemFactory,
)
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem

ROWS = {
    "workitems": (WorkItem, WorkItemFactory),
    "customers": (Customer, CustomerFactory),
    "assets": (CustomerAsset, CustomerAssetFactory),
    "dropoff-points": (DropoffPoint, DropoffPointFactory),
}
endpoints = pytest.mark.parametrize("endpoint", list(ROWS))


def make(endpoint: str, tenant):
    return ROWS[endpoint][1](tenant=tenant)


def detail_url(endpoint: str, row) -> str:
    return f"/api/v1/{endpoint}/{row.pk}/"


@endpoints
def test_a_member_cannot_delete(member_api, tenant, endpoint):
    row = make(endpoint, tenant)

    response = member_api.delete(detail_url(endpoint, row))

    assert response.status_code == 403
    assert response.data["detail"] == "Deleting needs the admin role in this tenant."
    assert ROWS[endpoint][0].objects.filter(pk=row.pk).exists()


@endpoints
def test_the_tenant_admin_deletes(api, tenant, endpoint):
    row = make(endpoint, tenant)

    assert api.delete(detail_url(endpoint, row)).status_code == 204
    assert not ROWS[endpoint][0].objects.filter(pk=row.pk).exists()


def test_the_role_counts_in_the_tenant_acted_for(tenant, other_tenant, member):
    """An admin of another tenant is still only a member here."""
    MembershipFactory(tenant=other_tenant, user=member, role=Membership.Role.ADMIN)
    workitem = WorkItemFactory(tenant=tenant)
    client = token_client(member)

    response = client.delete(detail_url("workitems", workitem), headers={"X-Tenant": tenant.slug})

    assert response.status_code == 403
    assert WorkItem.objects.filter(pk=workitem.pk).exists()


@endpoints
def test_another_tenants_row_is_a_404_for_its_members_too(outsider_api, tenant, endpoint):
    row = make(endpoint, tenant)

    assert outsider_api.delete(detail_url(endpoint, row)).status_code == 404


def test_a_member_creates_and_updates_work_items_and_notes(member_api, tenant):
    customer = CustomerFactory(tenant=tenant)

    created = member_api.post("/api/v1/workitems/", {"description": "Cracked screen", "customer_id": customer.pk})
    changed = member_api.patch(f"/api/v1/workitems/{created.data['id']}/", {"status": "In Progress"})
    noted = member_api.post(f"/api/v1/workitems/{created.data['id']}/notes/", {"body": "Parts ordered"})

    assert (created.status_code, changed.status_code, noted.status_code) == (201, 200, 201)
    assert WorkItem.objects.get(pk=created.data["id"]).status == "In Progress"


@pytest.mark.parametrize("endpoint", ["customers", "assets", "dropoff-points"])
def test_a_member_creates_and_updates_customers_assets_and_dropoff_points(member_api, endpoint):
    created = member_api.post(f"/api/v1/{endpoint}/", {"name": "First name"})
    changed = member_api.patch(f"/api/v1/{endpoint}/{created.data['id']}/", {"name": "Second name"})

    assert (created.status_code, changed.status_code) == (201, 200)
    assert ROWS[endpoint][0].objects.get(pk=created.data["id"]).name == "Second name"
