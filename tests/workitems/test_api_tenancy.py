"""Every API call acts for one tenant: outsiders see nothing, and links never cross tenants."""

import pytest

from tests.conftest import token_client
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    MembershipFactory,
    WorkItemFactory,
)
from workitems.models import WorkItem

LIST_URL = "/api/v1/workitems/"
RECORD_FIELDS = {
    "customer_id": CustomerFactory,
    "customer_asset_id": CustomerAssetFactory,
    "dropoff_point_id": DropoffPointFactory,
}
ALL_LINK_FIELDS = [*RECORD_FIELDS, "owner_id", "technician_id"]


def detail_url(workitem: WorkItem) -> str:
    return f"{LIST_URL}{workitem.pk}/"


@pytest.fixture
def acme_item(tenant):
    return WorkItemFactory(tenant=tenant, description="Acme only")


@pytest.fixture
def foreign_id(other_tenant, outsider):
    """The id of a row (or user) that belongs to globex only, for a given link field."""

    def for_field(field: str) -> int:
        if field in RECORD_FIELDS:
            return RECORD_FIELDS[field](tenant=other_tenant).pk
        return outsider.pk

    return for_field


@pytest.fixture
def two_tenant_user(tenant, other_tenant, make_user):
    user = make_user(username="consultant")
    MembershipFactory(user=user, tenant=tenant)
    MembershipFactory(user=user, tenant=other_tenant)
    return user


def test_an_outsider_does_not_see_another_tenants_workitems_in_the_list(outsider_api, acme_item, other_tenant):
    WorkItemFactory(tenant=other_tenant, description="Globex only")

    response = outsider_api.get(LIST_URL)

    assert [row["description"] for row in response.data["results"]] == ["Globex only"]


def test_a_member_sees_the_workitems_of_their_tenant(member_api, acme_item):
    response = member_api.get(LIST_URL)

    assert [row["id"] for row in response.data["results"]] == [acme_item.pk]


def test_an_outsider_gets_404_for_another_tenants_workitem(outsider_api, acme_item):
    assert outsider_api.get(detail_url(acme_item)).status_code == 404


def test_an_outsider_gets_404_when_patching_another_tenants_workitem(outsider_api, acme_item):
    response = outsider_api.patch(detail_url(acme_item), {"description": "Hijacked"})

    assert response.status_code == 404
    acme_item.refresh_from_db()
    assert acme_item.description == "Acme only"


def test_an_outsider_gets_404_when_deleting_another_tenants_workitem(outsider_api, acme_item):
    assert outsider_api.delete(detail_url(acme_item)).status_code == 404
    assert WorkItem.objects.filter(pk=acme_item.pk).exists()


@pytest.mark.parametrize("field", ALL_LINK_FIELDS)
def test_creating_with_a_link_outside_the_tenant_is_a_400_on_that_field(api, foreign_id, field):
    response = api.post(LIST_URL, {"description": "Cross-tenant", field: foreign_id(field)})

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not WorkItem.objects.exists()


@pytest.mark.parametrize("field", ALL_LINK_FIELDS)
def test_patching_in_a_link_outside_the_tenant_is_a_400_on_that_field(api, acme_item, foreign_id, field):
    response = api.patch(detail_url(acme_item), {field: foreign_id(field)})

    assert response.status_code == 400
    assert list(response.data) == [field]


def test_a_user_without_any_membership_gets_403(make_user):
    response = token_client(make_user(username="drifter")).get(LIST_URL)

    assert response.status_code == 403


def test_a_user_in_two_tenants_without_x_tenant_gets_400_naming_the_header(two_tenant_user):
    response = token_client(two_tenant_user).get(LIST_URL)

    assert response.status_code == 400
    assert "acme" in str(response.data["X-Tenant"])
    assert "globex" in str(response.data["X-Tenant"])


def test_x_tenant_scopes_a_user_in_two_tenants_to_that_tenant(two_tenant_user, acme_item, other_tenant):
    globex_item = WorkItemFactory(tenant=other_tenant)

    response = token_client(two_tenant_user).get(LIST_URL, HTTP_X_TENANT="globex")

    assert [row["id"] for row in response.data["results"]] == [globex_item.pk]


def test_x_tenant_also_decides_where_a_new_workitem_goes(two_tenant_user, other_tenant):
    response = token_client(two_tenant_user).post(LIST_URL, {"description": "For globex"}, HTTP_X_TENANT="globex")

    assert WorkItem.objects.get(pk=response.data["id"]).tenant == other_tenant


def test_x_tenant_of_a_tenant_the_user_is_not_in_gets_403(api, other_tenant):
    assert api.get(LIST_URL, HTTP_X_TENANT="globex").status_code == 403


def test_x_tenant_of_an_unknown_tenant_gets_403(api):
    assert api.get(LIST_URL, HTTP_X_TENANT="no-such-tenant").status_code == 403


def test_x_tenant_that_cannot_be_a_slug_gets_400(api):
    response = api.get(LIST_URL, HTTP_X_TENANT="acme\x00")

    assert response.status_code == 400
    assert "X-Tenant" in response.data


def test_a_member_of_an_inactive_tenant_gets_403(api, tenant):
    tenant.is_active = False
    tenant.save()

    assert api.get(LIST_URL).status_code == 403


def test_x_tenant_of_an_inactive_tenant_gets_403(two_tenant_user, other_tenant):
    other_tenant.is_active = False
    other_tenant.save()

    assert token_client(two_tenant_user).get(LIST_URL, HTTP_X_TENANT="globex").status_code == 403


def test_a_user_in_one_active_and_one_inactive_tenant_acts_for_the_active_one(two_tenant_user, other_tenant, acme_item):
    other_tenant.is_active = False
    other_tenant.save()

    response = token_client(two_tenant_user).get(LIST_URL)

    assert [row["id"] for row in response.data["results"]] == [acme_item.pk]
