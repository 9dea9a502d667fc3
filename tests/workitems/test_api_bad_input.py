"""Bad input is the client's fault: 400 with the offending field named, 404 or 409 — never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerAssetFactory, CustomerFactory, WorkItemFactory
from workitems.models import Customer, WorkItem

LIST_URL = "/api/v1/workitems/"


def detail_url(workitem: WorkItem) -> str:
    return f"{LIST_URL}{workitem.pk}/"


def test_a_malformed_json_body_is_a_400(api):
    response = api.post(LIST_URL, '{"description": "Cracked', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.data["detail"]


def test_a_json_body_that_is_not_an_object_is_a_400(api):
    response = api.post(LIST_URL, '["Cracked screen"]', content_type="application/json")

    assert response.status_code == 400
    assert "non_field_errors" in response.data


def test_a_missing_description_is_a_400_on_description(api):
    response = api.post(LIST_URL, {"priority": "High"})

    assert response.status_code == 400
    assert list(response.data) == ["description"]


@pytest.mark.parametrize("field", ["status", "type", "priority", "intake_method"])
def test_an_unknown_choice_is_a_400_on_that_field(api, field):
    response = api.post(LIST_URL, {"description": "x", field: "Bogus"})

    assert response.status_code == 400
    assert list(response.data) == [field]


def test_a_choice_label_is_not_accepted_in_place_of_its_value(api):
    response = api.post(LIST_URL, {"description": "x", "intake_method": "Walk-in"})

    assert response.status_code == 400
    assert list(response.data) == ["intake_method"]


@pytest.mark.parametrize("field", ["estimated_price", "final_price"])
def test_a_negative_price_is_a_400_on_that_field(api, field):
    response = api.post(LIST_URL, {"description": "x", field: "-0.01"})

    assert response.status_code == 400
    assert list(response.data) == [field]


@pytest.mark.parametrize("field", ["estimated_price", "final_price"])
def test_a_price_with_three_decimal_places_is_a_400_on_that_field(api, field):
    response = api.post(LIST_URL, {"description": "x", field: "10.005"})

    assert response.status_code == 400
    assert "decimal places" in str(response.data[field])


def test_a_price_beyond_twelve_digits_is_a_400(api):
    response = api.post(LIST_URL, {"description": "x", "estimated_price": "12345678901.00"})

    assert response.status_code == 400
    assert list(response.data) == ["estimated_price"]


def test_a_negative_price_in_a_patch_is_a_400_and_keeps_the_old_price(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.patch(detail_url(workitem), {"estimated_price": "-5"})

    assert (response.status_code, list(response.data)) == (400, ["estimated_price"])
    workitem.refresh_from_db()
    assert str(workitem.estimated_price) == "150.00"


def test_a_due_date_before_creation_is_a_400_on_due_date(api):
    response = api.post(LIST_URL, {"description": "x", "due_date": timezone.now() - timedelta(days=1)})

    assert response.status_code == 400
    assert list(response.data) == ["due_date"]
    assert not WorkItem.objects.exists()


def test_patching_a_due_date_before_creation_is_a_400_and_changes_nothing(api, tenant):
    workitem = WorkItemFactory(tenant=tenant, description="Broken hinge")

    response = api.patch(
        detail_url(workitem), {"description": "Changed", "due_date": workitem.created_date - timedelta(hours=1)}
    )

    assert (response.status_code, list(response.data)) == (400, ["due_date"])
    workitem.refresh_from_db()
    assert (workitem.description, workitem.due_date) == ("Broken hinge", None)


def test_a_due_date_that_is_not_a_datetime_is_a_400(api):
    response = api.post(LIST_URL, {"description": "x", "due_date": "next tuesday"})

    assert (response.status_code, list(response.data)) == (400, ["due_date"])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "Bogus"),
        ("priority", "Bogus"),
        ("type", "Bogus"),
        ("updated_since", "notadate"),
        ("technician", "abc"),
        ("customer", "abc"),
    ],
)
def test_an_invalid_filter_value_is_a_400_on_that_parameter(api, param, value):
    response = api.get(LIST_URL, {param: value})

    assert response.status_code == 400
    assert list(response.data) == [param]


def date_time_filters(api, *, workitem_id: int) -> list[tuple[str, str]]:
    """(path, parameter) of every date-time query parameter the API documents (nested routes
    of a work item: that of `workitem_id`)."""
    schema = api.get("/api/schema/", {"format": "json"}).json()
    return [
        (path.replace("{id}", str(workitem_id)), parameter["name"])
        for path, item in schema["paths"].items()
        for parameter in item.get("get", {}).get("parameters", [])
        if parameter["in"] == "query" and parameter["schema"].get("format") == "date-time"
    ]


@pytest.mark.parametrize(
    "value",
    [
        "0367-08-13T07:55:47-18:48",  # found by fuzzing: PostgreSQL cannot store this offset (was a 500)
        "2030-01-01T00:00:00+14:01",
        "2030-01-01T00:00:00-12:01",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_a_date_filter_outside_the_utc_offsets_or_years_we_store_is_a_400_on_that_parameter(api, tenant, value):
    filters = date_time_filters(api, workitem_id=WorkItemFactory(tenant=tenant).pk)
    assert ("/api/v1/workitems/", "updated_since") in filters

    for path, name in filters:
        response = api.get(path, {name: value})

        assert (response.status_code, list(response.data)) == (400, [name]), path


@pytest.mark.parametrize(
    "value", ["2030-01-01T00:00:00+14:00", "2030-01-01T00:00:00-12:00", "0001-01-01T05:00:00+05:00"]
)
def test_a_date_filter_at_the_edges_of_what_we_store_is_served(api, value):
    assert api.get(LIST_URL, {"updated_since": value}).status_code == 200


def test_one_bad_value_among_several_statuses_is_a_400(api):
    response = api.get(LIST_URL, {"status": ["New", "Bogus"]})

    assert (response.status_code, list(response.data)) == (400, ["status"])


@pytest.mark.parametrize(
    "url",
    ["/api/v1/workitems/abc/", "/api/v1/workitems/abc/notes/", "/api/v1/customers/abc/", "/api/v1/assets/1.5/"],
)
def test_a_non_numeric_id_in_the_url_is_a_404(api, url):
    assert api.get(url).status_code == 404


def test_an_id_too_large_for_the_database_is_a_404(api):
    assert api.get(f"{LIST_URL}{10**20}/").status_code == 404


@pytest.mark.parametrize("value", ["abc", True, [1], {"id": 1}])
def test_a_related_id_of_the_wrong_type_is_a_400_on_that_field(api, value):
    response = api.post(LIST_URL, {"description": "x", "customer_id": value})

    assert (response.status_code, list(response.data)) == (400, ["customer_id"])


def test_a_related_id_that_does_not_exist_is_a_400_on_that_field(api):
    response = api.post(LIST_URL, {"description": "x", "technician_id": 10**20})

    assert (response.status_code, list(response.data)) == (400, ["technician_id"])


def test_text_with_a_nul_character_is_a_400(api):
    response = api.post(LIST_URL, {"description": "Cracked\x00screen"})

    assert (response.status_code, list(response.data)) == (400, ["description"])


def test_deleting_a_customer_still_used_by_a_workitem_is_a_409_that_says_why(api, tenant):
    customer = CustomerFactory(tenant=tenant)
    WorkItemFactory(tenant=tenant, customer=customer)

    response = api.delete(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 409
    assert response.data["detail"] == "Still referenced by work items; remove those references first."
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_deleting_a_customer_only_linked_to_an_asset_succeeds_and_unlinks_the_asset(api, tenant):
    asset = CustomerAssetFactory(tenant=tenant)

    assert api.delete(f"/api/v1/customers/{asset.customer_id}/").status_code == 204
    asset.refresh_from_db()
    assert asset.customer is None
