"""POST /api/v1/workitems/{id}/packages/ answers 202 with a run per target and its URL;
/api/v1/package-runs/ lists the tenant's runs with their progress; resume creates the rest."""

import pytest
from rest_framework.test import APIClient

from integrations.models import PackageRun
from tests.conftest import token_client
from tests.factories import PackageTemplateFactory, TenantIntegrationFactory, WorkItemFactory


def packages_url(workitem) -> str:
    return f"/api/v1/workitems/{workitem.pk}/packages/"


@pytest.fixture
def member_api(member) -> APIClient:
    return token_client(member)


def test_starting_a_package_answers_202_with_the_runs_urls_and_the_runs_end_done(
    api, committed, sites, jira_us, jira_eu, template, workitem
):
    second = template.elements.all()[1]
    body = {
        "template": template.pk,
        "targets": [
            {"integration": jira_us.pk, "project_key": "SVC"},
            {"integration": jira_eu.pk, "project_key": "SVC", "elements": [second.pk]},
        ],
    }

    with committed():
        response = api.post(packages_url(workitem), body, format="json")

    assert response.status_code == 202, response.json()
    runs = response.json()["runs"]
    us_run, eu_run = PackageRun.objects.order_by("id")
    assert [run["url"] for run in runs] == [
        f"http://testserver/api/v1/package-runs/{us_run.pk}/",
        f"http://testserver/api/v1/package-runs/{eu_run.pk}/",
    ]
    assert [(run["status"], run["created"], run["total"]) for run in runs] == [("queued", 0, 5), ("queued", 0, 2)]
    followed = api.get(runs[1]["url"]).json()
    assert (followed["status"], followed["created"], followed["total"], followed["parent_key"]) == (
        "done",
        2,
        2,
        "SVC-1",
    )
    assert followed["children"] == [
        {
            "element": second.pk,
            "summary": f"Step 2 of {workitem.reference_id}",
            "key": "SVC-2",
            "url": "https://acme-eu.atlassian.net/browse/SVC-2",
            "linked": True,
            "error": "",
        }
    ]


def test_a_member_may_start_a_package(member_api, committed, sites, jira_us, template, workitem):
    body = {"template": template.pk, "targets": [{"integration": jira_us.pk, "project_key": "SVC"}]}

    with committed():
        response = member_api.post(packages_url(workitem), body, format="json")

    assert response.status_code == 202


def test_an_integration_that_cannot_create_packages_is_a_field_error(api, tenant, jira_us, template, workitem):
    webhook = TenantIntegrationFactory(tenant=tenant)
    body = {
        "template": template.pk,
        "targets": [
            {"integration": jira_us.pk, "project_key": "SVC", "elements": [999999]},
            {"integration": webhook.pk, "project_key": "SVC"},
        ],
    }

    response = api.post(packages_url(workitem), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "targets": {
            "0": {"elements": ["No element with id 999999 in this template."]},
            "1": {"integration": ["No integration with this id in your tenant creates packages."]},
        }
    }
    assert not PackageRun.objects.exists()


def test_the_same_integration_twice_and_a_paused_one_are_refused(api, jira_us, jira_eu, template, workitem):
    jira_eu.is_active = False
    jira_eu.save()
    target = {"integration": jira_us.pk, "project_key": "SVC"}
    body = {"template": template.pk, "targets": [target, target, {"integration": jira_eu.pk, "project_key": "OPS"}]}

    response = api.post(packages_url(workitem), body, format="json")

    assert response.json() == {
        "targets": {
            "1": {"integration": ["This integration is a target twice."]},
            "2": {"integration": ["This integration is paused; resume it first."]},
        }
    }


def test_another_tenants_template_integration_and_work_item_are_not_found(
    api, other_tenant, jira_us, template, workitem
):
    foreign_template = PackageTemplateFactory(tenant=other_tenant)
    foreign_workitem = WorkItemFactory(tenant=other_tenant)
    body = {"template": foreign_template.pk, "targets": [{"integration": jira_us.pk, "project_key": "SVC"}]}

    assert api.post(packages_url(workitem), body, format="json").json() == {
        "template": ["No package template with this id in your tenant."]
    }
    body["template"] = template.pk
    assert api.post(packages_url(foreign_workitem), body, format="json").status_code == 404


def test_a_project_key_with_spaces_or_quotes_is_refused(api, jira_us, template, workitem):
    body = {"template": template.pk, "targets": [{"integration": jira_us.pk, "project_key": 'SVC" OR 1=1'}]}

    response = api.post(packages_url(workitem), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["targets"]["0"]) == ["project_key"]


def test_runs_are_listed_per_tenant_and_filtered_by_work_item(
    api, outsider_api, committed, sites, jira_us, template, workitem, tenant
):
    other = WorkItemFactory(tenant=tenant)
    body = {"template": template.pk, "targets": [{"integration": jira_us.pk, "project_key": "SVC"}]}
    with committed():
        api.post(packages_url(workitem), body, format="json")
        api.post(packages_url(other), body, format="json")

    assert len(api.get("/api/v1/package-runs/").json()["results"]) == 2
    only = api.get(f"/api/v1/package-runs/?workitem={other.pk}").json()["results"]
    assert [run["workitem"] for run in only] == [other.pk]
    assert outsider_api.get("/api/v1/package-runs/").json()["results"] == []
    run = PackageRun.objects.first()
    assert outsider_api.get(f"/api/v1/package-runs/{run.pk}/").status_code == 404


def test_resume_completes_a_partial_run_and_refuses_a_done_one(api, committed, sites, jira_us, template, workitem):
    us, _ = sites
    us.fail_after(2)
    body = {"template": template.pk, "targets": [{"integration": jira_us.pk, "project_key": "SVC"}]}
    with committed():
        run_url = api.post(packages_url(workitem), body, format="json").json()["runs"][0]["url"]
    assert api.get(run_url).json()["status"] == "partial"
    us.fail_after_count = None

    with committed():
        resumed = api.post(f"{run_url}resume/")

    assert resumed.status_code == 202
    assert api.get(run_url).json()["status"] == "done"
    again = api.post(f"{run_url}resume/")
    assert again.status_code == 409
    assert again.json() == {"detail": "Everything in this package was created already; there is nothing to resume."}
    assert len(us.issues) == 5
