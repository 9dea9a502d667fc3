"""/api/v1/package-templates/: tenant admins write, members read, outsiders see nothing;
elements are replaced in the order sent, keeping those named by id; errors are field errors."""

import pytest
from rest_framework.test import APIClient

from integrations.models import PackageTemplate, PackageTemplateElement
from tests.conftest import token_client
from tests.factories import PackageTemplateFactory

URL = "/api/v1/package-templates/"
NEW = {
    "name": "Laptop repair",
    "parent_issue_type": "Task",
    "parent_summary": "{reference_id}: {description}",
    "parent_description": "Repair for {customer}, device {asset}.",
    "child_issue_type": "Sub-task",
    "elements": [
        {"summary": "Diagnose {reference_id}", "description": "Find the fault."},
        {"summary": "Order parts"},
        {"summary": "Repair and test"},
    ],
}


@pytest.fixture
def member_api(member) -> APIClient:
    return token_client(member)


@pytest.fixture
def template(tenant):
    return PackageTemplateFactory(tenant=tenant, name="Laptop repair")


def test_an_admin_creates_a_template_with_its_elements_in_order(api, tenant):
    response = api.post(URL, NEW, format="json")

    assert response.status_code == 201, response.json()
    template = PackageTemplate.objects.get(tenant=tenant)
    assert [(e.position, e.summary) for e in template.elements.all()] == [
        (1, "Diagnose {reference_id}"),
        (2, "Order parts"),
        (3, "Repair and test"),
    ]
    assert [e["position"] for e in response.json()["elements"]] == [1, 2, 3]


def test_a_member_reads_templates_but_cannot_write(member_api, template):
    assert member_api.get(URL).json()["results"][0]["name"] == "Laptop repair"

    response = member_api.post(URL, NEW, format="json")

    assert response.status_code == 403
    assert member_api.delete(f"{URL}{template.pk}/").status_code == 403


def test_an_outsider_sees_no_template_of_another_tenant(outsider_api, template):
    assert outsider_api.get(URL).json()["results"] == []
    assert outsider_api.get(f"{URL}{template.pk}/").status_code == 404
    assert outsider_api.patch(f"{URL}{template.pk}/", {"name": "Mine"}, format="json").status_code == 404


def test_an_unknown_placeholder_is_a_field_error(api):
    body = {**NEW, "parent_summary": "{reference_id} for {client}"}
    body["elements"] = [{"summary": "Call {customer.__class__}"}]

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert "Unknown placeholder {client}" in errors["parent_summary"][0]
    assert "Unknown placeholder" in errors["elements"]["0"]["summary"][0]


def test_a_second_template_of_the_same_name_is_refused(api, template):
    response = api.post(URL, NEW, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["A template with this name exists already."]}


def test_a_patch_reorders_keeps_named_elements_drops_the_rest_and_adds_new_ones(api, template):
    first, second, third = template.elements.all()
    body = {
        "elements": [{"id": third.pk, "summary": "Test"}, {"id": first.pk, "summary": "Diagnose"}, {"summary": "Call"}]
    }

    response = api.patch(f"{URL}{template.pk}/", body, format="json")

    assert response.status_code == 200, response.json()
    elements = list(template.elements.all())
    assert [(e.position, e.summary) for e in elements] == [(1, "Test"), (2, "Diagnose"), (3, "Call")]
    assert [elements[0].pk, elements[1].pk] == [third.pk, first.pk]
    assert not PackageTemplateElement.objects.filter(pk=second.pk).exists()


def test_a_patch_without_elements_leaves_them(api, template):
    response = api.patch(f"{URL}{template.pk}/", {"child_issue_type": "Story"}, format="json")

    assert response.status_code == 200
    assert template.elements.count() == 3


def test_an_element_of_another_template_cannot_be_named(api, template, other_tenant):
    foreign = PackageTemplateFactory(tenant=other_tenant).elements.first()

    response = api.patch(f"{URL}{template.pk}/", {"elements": [{"id": foreign.pk, "summary": "x"}]}, format="json")

    assert response.status_code == 400
    assert response.json() == {"elements": {"0": {"id": [f"No element with id {foreign.pk} in this template."]}}}
    assert PackageTemplateElement.objects.filter(pk=foreign.pk, summary="Step 1 of {reference_id}").exists()


def test_an_admin_deletes_a_template(api, template):
    assert api.delete(f"{URL}{template.pk}/").status_code == 204
    assert not PackageTemplate.objects.filter(pk=template.pk).exists()
