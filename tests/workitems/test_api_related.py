"""Customers, assets and drop-off points: CRUD within the caller's tenant, nothing across tenants."""

from typing import Any, NamedTuple

import pytest

from tests.conftest import token_client
from tests.factories import CustomerAssetFactory, CustomerFactory, DropoffPointFactory, MembershipFactory
from workitems.models import Customer, CustomerAsset, DropoffPoint


class Endpoint(NamedTuple):
    model: type
    factory: type
    payload: dict[str, Any]
    patch_field: str


ENDPOINTS = {
    "customers": Endpoint(Customer, CustomerFactory, {"name": "Ada Lovelace", "email": "ada@example.com"}, "phone"),
    "assets": Endpoint(
        CustomerAsset, CustomerAssetFactory, {"name": "Pixel 8", "serial_number": "SN-42"}, "serial_number"
    ),
    "dropoff-points": Endpoint(
        DropoffPoint, DropoffPointFactory, {"name": "Locker 3", "address": "1 Main St"}, "address"
    ),
}
endpoints = pytest.mark.parametrize("endpoint", list(ENDPOINTS))


def list_url(endpoint: str) -> str:
    return f"/api/v1/{endpoint}/"


def detail_url(endpoint: str, row) -> str:
    return f"/api/v1/{endpoint}/{row.pk}/"


def make(endpoint: str, tenant, **fields):
    return ENDPOINTS[endpoint].factory(tenant=tenant, **fields)


@endpoints
def test_creating_returns_201_and_stores_the_row_in_the_callers_tenant(api, tenant, endpoint):
    payload = ENDPOINTS[endpoint].payload

    response = api.post(list_url(endpoint), payload)

    assert response.status_code == 201
    stored = ENDPOINTS[endpoint].model.objects.get(pk=response.data["id"])
    assert stored.tenant == tenant
    assert {key: response.data[key] for key in payload} == payload


@endpoints
def test_creating_without_a_name_is_a_400_on_name(api, endpoint):
    response = api.post(list_url(endpoint), {})

    assert (response.status_code, list(response.data)) == (400, ["name"])


@endpoints
def test_retrieving_returns_the_row(api, tenant, endpoint):
    row = make(endpoint, tenant, name="Kept")

    response = api.get(detail_url(endpoint, row))

    assert (response.status_code, response.data["id"], response.data["name"]) == (200, row.pk, "Kept")


@endpoints
def test_the_list_shows_only_the_callers_tenant(api, tenant, other_tenant, endpoint):
    mine = make(endpoint, tenant)
    make(endpoint, other_tenant)

    response = api.get(list_url(endpoint))

    assert [row["id"] for row in response.data["results"]] == [mine.pk]


@endpoints
def test_the_list_is_ordered_by_name(api, tenant, endpoint):
    for name in ("Bravo", "Charlie", "Alpha"):
        make(endpoint, tenant, name=name)

    response = api.get(list_url(endpoint))

    assert [row["name"] for row in response.data["results"]] == ["Alpha", "Bravo", "Charlie"]


@endpoints
def test_search_matches_the_name(api, tenant, endpoint):
    make(endpoint, tenant, name="Qwertz Store")
    make(endpoint, tenant, name="Dvorak Store")

    response = api.get(list_url(endpoint), {"search": "qwertz"})

    assert [row["name"] for row in response.data["results"]] == ["Qwertz Store"]


@endpoints
def test_patch_changes_the_field_sent(api, tenant, endpoint):
    field = ENDPOINTS[endpoint].patch_field
    row = make(endpoint, tenant, name="Kept")

    response = api.patch(detail_url(endpoint, row), {field: "changed"})

    assert response.status_code == 200
    row.refresh_from_db()
    assert (getattr(row, field), row.name) == ("changed", "Kept")


@endpoints
def test_delete_removes_the_row_with_204(api, tenant, endpoint):
    model = ENDPOINTS[endpoint].model
    row = make(endpoint, tenant)

    assert api.delete(detail_url(endpoint, row)).status_code == 204
    assert not model.objects.filter(pk=row.pk).exists()


@endpoints
def test_put_is_not_allowed(api, tenant, endpoint):
    row = make(endpoint, tenant)

    assert api.put(detail_url(endpoint, row), {"name": "Replaced"}).status_code == 405


@endpoints
def test_an_outsider_gets_404_for_another_tenants_row(outsider_api, tenant, endpoint):
    row = make(endpoint, tenant)

    assert outsider_api.get(detail_url(endpoint, row)).status_code == 404


@endpoints
def test_an_outsider_gets_404_when_patching_another_tenants_row(outsider_api, tenant, endpoint):
    row = make(endpoint, tenant, name="Kept")

    assert outsider_api.patch(detail_url(endpoint, row), {"name": "Hijacked"}).status_code == 404
    row.refresh_from_db()
    assert row.name == "Kept"


@endpoints
def test_an_outsider_gets_404_when_deleting_another_tenants_row(outsider_api, tenant, endpoint):
    model = ENDPOINTS[endpoint].model
    row = make(endpoint, tenant)

    assert outsider_api.delete(detail_url(endpoint, row)).status_code == 404
    assert model.objects.filter(pk=row.pk).exists()


def test_customer_search_also_matches_the_email(api, tenant):
    CustomerFactory(tenant=tenant, name="Ada", email="ada@analytical.example")
    CustomerFactory(tenant=tenant, name="Grace", email="grace@navy.example")

    response = api.get(list_url("customers"), {"search": "navy"})

    assert [row["name"] for row in response.data["results"]] == ["Grace"]


def test_an_asset_created_for_a_customer_reads_the_customer_back(api, tenant):
    customer = CustomerFactory(tenant=tenant, name="Ada Lovelace", email="ada@example.com")

    response = api.post(list_url("assets"), {"name": "Pixel 8", "customer_id": customer.pk})

    assert response.data["customer"] == {"id": customer.pk, "name": "Ada Lovelace", "email": "ada@example.com"}
    assert CustomerAsset.objects.get(pk=response.data["id"]).customer == customer


def test_an_asset_without_a_customer_reads_back_null(api):
    response = api.post(list_url("assets"), {"name": "Loaner laptop"})

    assert (response.status_code, response.data["customer"]) == (201, None)


def test_creating_an_asset_for_another_tenants_customer_is_a_400_on_customer_id(api, other_tenant):
    foreign = CustomerFactory(tenant=other_tenant)

    response = api.post(list_url("assets"), {"name": "Pixel 8", "customer_id": foreign.pk})

    assert (response.status_code, list(response.data)) == (400, ["customer_id"])
    assert not CustomerAsset.objects.exists()


def test_moving_an_asset_to_another_tenants_customer_is_a_400_on_customer_id(api, tenant, other_tenant):
    asset = CustomerAssetFactory(tenant=tenant)
    original_customer = asset.customer

    response = api.patch(detail_url("assets", asset), {"customer_id": CustomerFactory(tenant=other_tenant).pk})

    assert (response.status_code, list(response.data)) == (400, ["customer_id"])
    asset.refresh_from_db()
    assert asset.customer == original_customer


def test_a_row_created_with_x_tenant_lands_in_that_tenant(make_user, tenant, other_tenant):
    user = make_user(username="consultant")
    MembershipFactory(user=user, tenant=tenant)
    MembershipFactory(user=user, tenant=other_tenant)

    response = token_client(user).post(list_url("customers"), {"name": "Globex client"}, HTTP_X_TENANT="globex")

    assert Customer.objects.get(pk=response.data["id"]).tenant == other_tenant
