"""Packages in the admin: templates with their ordered elements inline (placeholders explained,
unknown ones refused on the field), runs read-only with progress and a Resume action."""

import pytest
from django.urls import reverse

from integrations import packages
from integrations.models import PackageRun, PackageTemplate
from tests.factories import PackageTemplateFactory
from tests.helpers import logged_in, staff

TEMPLATES = reverse("admin:integrations_packagetemplate_changelist")
RUNS = reverse("admin:integrations_packagerun_changelist")


@pytest.fixture
def run(committed, sites, jira_us, template, workitem) -> PackageRun:
    us, _ = sites
    us.fail_after(2)
    target = packages.PackageTarget(integration=jira_us, project_key="SVC", elements=list(template.elements.all()))
    with committed():
        (run,) = packages.package_runs_start(workitem=workitem, template=template, targets=[target])
    us.fail_after_count = None
    return PackageRun.objects.get(pk=run.pk)


def template_form(tenant, **fields) -> dict:
    data = {
        "tenant": tenant.pk,
        "name": "Laptop repair",
        "parent_issue_type": "Task",
        "parent_summary": "{reference_id}: {description}",
        "parent_description": "",
        "child_issue_type": "Sub-task",
        "elements-TOTAL_FORMS": "2",
        "elements-INITIAL_FORMS": "0",
        "elements-0-position": "1",
        "elements-0-summary": "Diagnose",
        "elements-1-position": "2",
        "elements-1-summary": "Repair {asset}",
    }
    return {**data, **fields}


def test_the_template_pages_render_for_a_tenant_admin(owner_client, template, other_tenant):
    PackageTemplateFactory(tenant=other_tenant, name="Globex package")

    listing = owner_client.get(TEMPLATES)
    adding = owner_client.get(reverse("admin:integrations_packagetemplate_add"))
    changing = owner_client.get(reverse("admin:integrations_packagetemplate_change", args=[template.pk]))

    assert [listing.status_code, adding.status_code, changing.status_code] == [200, 200, 200]
    assert "Laptop repair" in listing.text
    assert "Globex package" not in listing.text
    assert "{reference_id}, {description}, {customer}" in adding.text
    assert "Step 4 of {reference_id}" in changing.text


def test_a_template_is_added_with_its_elements_inline(owner_client, tenant):
    response = owner_client.post(reverse("admin:integrations_packagetemplate_add"), template_form(tenant))

    assert response.status_code == 302
    template = PackageTemplate.objects.get(tenant=tenant)
    assert [element.summary for element in template.elements.all()] == ["Diagnose", "Repair {asset}"]


def test_an_unknown_placeholder_is_shown_on_its_field(owner_client, tenant):
    response = owner_client.post(
        reverse("admin:integrations_packagetemplate_add"), template_form(tenant, **{"elements-1-summary": "{serial}"})
    )

    assert response.status_code == 200
    assert "Unknown placeholder {serial}" in response.text
    assert not PackageTemplate.objects.exists()


def test_runs_are_read_only_with_their_progress_and_children(owner_client, run):
    listing = owner_client.get(RUNS)
    detail = owner_client.get(reverse("admin:integrations_packagerun_change", args=[run.pk]))

    assert listing.status_code == 200
    assert "2 of 5" in listing.text
    assert detail.status_code == 200
    assert "https://acme.atlassian.net/browse/SVC-2" in detail.text
    assert "Service unavailable" in detail.text
    assert 'name="_save"' not in detail.text


def test_the_resume_action_creates_what_is_missing(owner_client, committed, sites, run):
    us, _ = sites

    with committed():
        response = owner_client.post(RUNS, {"action": "resume", "_selected_action": [run.pk]}, follow=True)

    assert "1 package run(s) queued to create what is missing." in response.text
    run.refresh_from_db()
    assert (run.status, run.created, len(us.issues)) == ("done", 5, 5)
    again = owner_client.post(RUNS, {"action": "resume", "_selected_action": [run.pk]}, follow=True)
    assert "Not resumed: run" in again.text


def test_another_tenants_runs_are_not_listed(outsider, run):
    response = logged_in(staff(outsider)).get(RUNS)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
