"""A package run against fake Jira sites: the parent, the children in bulk, the links; a site
that fails half-way leaves a partial run that a resume completes without duplicates; refused
elements are reported and a resume creates only them; progress is saved after every batch."""

import pytest

from integrations import packages
from integrations.models import PackageRun
from tests.factories import PackageTemplateFactory
from tests.fakes.jira import SITE_URL
from tests.integrations.packages.conftest import jira_integration
from workitems.models import WorkItemNote


def start(committed, workitem, template, *integrations, elements=None) -> list[PackageRun]:
    """Start runs of `template` on `integrations` and let the (eager) workers run them."""
    chosen = list(template.elements.all()) if elements is None else elements
    targets = [
        packages.PackageTarget(integration=integration, project_key="SVC", elements=chosen)
        for integration in integrations
    ]
    with committed():
        runs = packages.package_runs_start(workitem=workitem, template=template, targets=targets)
    return [PackageRun.objects.get(pk=run.pk) for run in runs]


def resume(committed, run: PackageRun) -> PackageRun:
    with committed():
        packages.package_run_resume(run=run)
    return PackageRun.objects.get(pk=run.pk)


def labels_of(fake) -> list[list[str]]:
    return [fields["labels"] for fields in fake.issues.values()]


def test_a_package_creates_the_parent_then_its_children_in_one_bulk_call_and_links_them(
    committed, sites, jira_us, template, workitem
):
    us, _ = sites

    (run,) = start(committed, workitem, template, jira_us)

    assert (run.status, run.created, run.total, run.error) == ("done", 5, 5, "")
    assert run.parent_key == "SVC-1"
    assert [child["key"] for child in run.child_keys.values()] == ["SVC-2", "SVC-3", "SVC-4", "SVC-5"]
    assert run.parent_url == "https://acme.atlassian.net/browse/SVC-1"
    assert len(us.calls("POST", "/issue/bulk")) == 1
    assert us.links == [("Relates", "SVC-1", f"SVC-{n}") for n in range(2, 6)]
    parent = us.issues["SVC-1"]
    assert parent["summary"] == f"{workitem.reference_id}: Cracked screen"
    assert (parent["issuetype"], us.issues["SVC-2"]["summary"]) == (
        {"name": "Task"},
        f"Step 1 of {workitem.reference_id}",
    )


def test_every_issue_carries_the_run_label_and_its_own(committed, sites, jira_us, template, workitem):
    us, _ = sites

    (run,) = start(committed, workitem, template, jira_us)

    group = f"fieldhook-package-{run.uuid.hex[:16]}"
    elements = [str(pk) for pk in run.elements]
    assert labels_of(us) == [[group, f"{group}-parent"]] + [[group, f"{group}-{pk}"] for pk in elements]


def test_the_parent_description_is_the_template_text_with_the_work_items_facts_and_link(
    committed, sites, jira_us, template, workitem
):
    us, _ = sites

    start(committed, workitem, template, jira_us)

    description = us.issues["SVC-1"]["description"]
    first, facts, link = description["content"]
    assert first["content"][0]["text"] == f"Repair for {workitem.customer.name}."
    assert facts["type"] == "bulletList"
    assert link["content"][0]["marks"][0]["attrs"]["href"].endswith(f"/admin/workitems/workitem/{workitem.pk}/change/")


def test_sub_task_children_name_their_parent_and_need_no_link(committed, sites, jira_us, tenant, workitem):
    us, _ = sites
    template = PackageTemplateFactory(tenant=tenant, child_issue_type="Sub-task", elements=2)

    (run,) = start(committed, workitem, template, jira_us)

    assert run.status == "done"
    assert [us.issues[key].get("parent") for key in ("SVC-2", "SVC-3")] == [{"key": "SVC-1"}, {"key": "SVC-1"}]
    assert us.links == []


def test_one_site_failing_half_way_leaves_a_partial_run_there_and_the_other_site_done(
    committed, sites, jira_us, jira_eu, template, workitem
):
    us, eu = sites
    eu.fail_after(3)  # the parent and two children, then every call answers 503

    done, partial = start(committed, workitem, template, jira_us, jira_eu)

    assert (done.status, done.created, len(us.issues), len(us.links)) == ("done", 5, 5, 4)
    assert (partial.status, partial.created, partial.total) == ("partial", 3, 5)
    assert partial.error == (
        "Jira is unavailable (HTTP 503) and could not take the link SVC-1 → SVC-2; Service unavailable; it is retried."
    )
    assert len(eu.issues) == 3


def test_a_resumed_run_creates_only_what_is_missing_and_never_a_duplicate(
    committed, sites, jira_us, jira_eu, template, workitem
):
    _, eu = sites
    eu.fail_after(3)
    _, partial = start(committed, workitem, template, jira_us, jira_eu)
    eu.fail_after_count = None  # the site is back

    resumed = resume(committed, partial)

    assert (resumed.status, resumed.created, resumed.total, resumed.error, resumed.tries) == ("done", 5, 5, "", 2)
    assert sorted(eu.issues) == ["SVC-1", "SVC-2", "SVC-3", "SVC-4", "SVC-5"]
    assert sorted(eu.links) == [("Relates", "SVC-1", f"SVC-{n}") for n in range(2, 6)]
    assert len(eu.calls("POST", "/issue")) == 1  # the parent, once


def test_refused_elements_are_reported_and_a_resume_creates_only_them(committed, sites, jira_us, tenant, workitem):
    us, _ = sites
    template = PackageTemplateFactory(tenant=tenant, child_issue_type="Sub-task", elements=5)
    us.fail_bulk_elements({1, 3})

    (run,) = start(committed, workitem, template, jira_us)

    second, fourth = (str(pk) for pk in (run.elements[1], run.elements[3]))
    assert (run.status, run.created, sorted(run.element_errors)) == ("partial", 4, sorted([second, fourth]))
    reason = "summary: Injected by the test: this element is refused"
    assert run.element_errors[second] == reason
    ref = workitem.reference_id
    assert run.error == f"Jira Cloud refused 2 children: 'Step 2 of {ref}': {reason}; 'Step 4 of {ref}': {reason}."

    us.fail_bulk_elements(set())
    resumed = resume(committed, run)

    assert (resumed.status, resumed.created, resumed.element_errors) == ("done", 6, {})
    retried = us.calls("POST", "/issue/bulk")[-1].json()["issueUpdates"]
    assert [update["fields"]["summary"] for update in retried] == [f"Step 2 of {ref}", f"Step 4 of {ref}"]
    assert len(us.issues) == 6


def test_a_lost_answer_is_found_again_by_its_labels_on_resume(committed, sites, jira_us, template, workitem):
    us, _ = sites
    us.lose_answer_next("POST", "/issue/bulk")  # Jira creates the children, the answer never arrives

    (run,) = start(committed, workitem, template, jira_us)
    assert (run.status, run.created, len(us.issues)) == ("partial", 1, 5)

    resumed = resume(committed, run)

    assert (resumed.status, resumed.created) == ("done", 5)
    assert len(us.issues) == 5
    assert len(us.calls("POST", "/issue/bulk")) == 1
    assert [child["key"] for child in resumed.child_keys.values()] == ["SVC-2", "SVC-3", "SVC-4", "SVC-5"]


def test_progress_is_saved_after_every_batch_of_fifty(committed, sites, jira_us, tenant, workitem, monkeypatch):
    us, _ = sites
    template = PackageTemplateFactory(tenant=tenant, child_issue_type="Sub-task", elements=120)
    seen = []
    bulk = us._bulk

    def record_progress(request):
        seen.append(PackageRun.objects.values_list("created", "total").get())
        return bulk(request)

    monkeypatch.setattr(us, "_bulk", record_progress)

    (run,) = start(committed, workitem, template, jira_us)

    assert seen == [(1, 121), (51, 121), (101, 121)]
    assert [len(call.json()["issueUpdates"]) for call in us.calls("POST", "/issue/bulk")] == [50, 50, 20]
    assert (run.status, run.created) == ("done", 121)


def test_a_run_stopped_between_batches_keeps_what_the_first_created(committed, sites, jira_us, tenant, workitem):
    us, _ = sites
    template = PackageTemplateFactory(tenant=tenant, child_issue_type="Sub-task", elements=60)
    us.fail_after(51)

    (run,) = start(committed, workitem, template, jira_us)

    assert (run.status, run.created, run.total, len(run.element_errors)) == ("partial", 51, 61, 10)


def test_each_try_ends_with_a_system_note_on_the_work_item(committed, sites, jira_us, template, workitem):
    us, _ = sites
    us.fail_after(1)
    (run,) = start(committed, workitem, template, jira_us)
    us.fail_after_count = None
    resume(committed, run)

    notes = list(
        WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).values_list("body", flat=True)
    )
    assert notes[0].startswith(
        "Package 'Laptop repair' in Jira US (project SVC) stopped after 1 of 5 issues: Jira Cloud refused 4 children"
    )
    assert notes[0].endswith(f"Resume package run {run.pk} to create the rest.")
    assert (
        notes[1]
        == "Package 'Laptop repair' in Jira US (project SVC): SVC-1 with 4 children (SVC-2, SVC-3, SVC-4, SVC-5)."
    )


def test_a_wrong_api_token_fails_the_run_with_jiras_advice_and_no_secret(committed, sites, tenant, template, workitem):
    wrong = jira_integration(tenant, name="Jira wrong", site_url=SITE_URL, api_token="not-the-token-1234")

    (run,) = start(committed, workitem, template, wrong)

    assert (run.status, run.created) == ("failed", 0)
    assert run.error.startswith("Jira refused the account email and API token (HTTP 401)")
    assert "not-the-token-1234" not in run.error


def test_a_done_run_is_not_resumed(committed, sites, jira_us, template, workitem):
    (run,) = start(committed, workitem, template, jira_us)

    with pytest.raises(packages.PackageRunNotResumable):
        packages.package_run_resume(run=run)
