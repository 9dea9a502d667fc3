"""The Nextcloud connector through the real engine against the fake Nextcloud: the exact requests,
the files people find in the folder, and what Fieldhook records for each answer."""

import datetime
import re

import pytest
from django.utils import timezone

from integrations.models import EventType, ExternalLink, SyncAttempt
from tests.factories import CustomerFactory, WorkItemFactory
from tests.fakes.nextcloud import APP_PASSWORD, BASE_URL
from workitems import services
from workitems.models import WorkItem, WorkItemNote

from .helpers import configure, created, deliver, latest_sync, make_due

ROOT = "/Fieldhook/Acme Repairs"
FOLDER = f"{ROOT}/RMA-1 - Cracked screen"
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
DAV = "/remote.php/dav/files/fieldhook"


def history_lines(fake, folder: str = FOLDER) -> list[str]:
    return [line for line in fake.text(f"{folder}/history.md").splitlines() if line.startswith("- ")]


# --- A new work item -------------------------------------------------------------------------


def test_a_new_work_item_gets_a_folder_with_its_summary_and_history(
    fake_nextcloud, nextcloud_integration, tenant, committed
):
    customer = CustomerFactory(tenant=tenant, name="Ana Silva", email="ana@example.com")
    with committed():
        workitem = WorkItemFactory(tenant=tenant, description="Cracked screen", customer=customer)

    sync = latest_sync(nextcloud_integration, EventType.WORKITEM_CREATED)
    assert (sync.status, sync.last_status_code) == ("synced", 201)
    summary = fake_nextcloud.text(f"{FOLDER}/workitem.md")
    assert summary.startswith("# RMA-1 — Cracked screen\n")
    assert "- **Customer:** Ana Silva (ana@example.com)" in summary
    assert "- **Status:** New" in summary
    assert f"[Open RMA-1 in Fieldhook](http://127.0.0.1:8000/admin/workitems/workitem/{workitem.pk}/change/)" in summary
    (line,) = history_lines(fake_nextcloud)
    assert re.fullmatch(
        r"- \*\*\d{4}-\d\d-\d\d \d\d:\d\d UTC\*\* — Created in Fieldhook, status New \*\(event \w{8}\)\*", line
    )


def test_the_folder_is_linked_by_path_and_opens_by_its_file_id(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)

    file_id = fake_nextcloud.files[FOLDER].file_id
    url = f"{BASE_URL}/index.php/f/{file_id}"
    sync = latest_sync(nextcloud_integration, EventType.WORKITEM_CREATED)
    assert (sync.external_id, sync.external_url) == (FOLDER, url)
    link = ExternalLink.objects.get(integration=nextcloud_integration, object_id=workitem.pk)
    assert (link.external_id, link.external_url) == (FOLDER, url)
    assert link.details == {"path": FOLDER, "file_id": file_id, "shares": {}}
    notes = WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).values_list("body", flat=True)
    assert list(notes) == [f"Sent workitem_created to Nextcloud ({url})."]
    assert fake_nextcloud.calls("PROPFIND") == []  # the id came with MKCOL's OC-FileId


def test_the_first_folder_makes_its_missing_parents_top_down(fake_nextcloud, nextcloud_integration):
    created(nextcloud_integration)

    # FOLDER and ROOT answer 409 (no parent), /Fieldhook is made, then ROOT and FOLDER.
    assert [call.path for call in fake_nextcloud.calls("MKCOL")] == [FOLDER, ROOT, "/Fieldhook", ROOT, FOLDER]
    assert fake_nextcloud.folders() == ["/", "/Fieldhook", ROOT, FOLDER]


def test_later_folders_take_one_mkcol(fake_nextcloud, nextcloud_integration):
    created(nextcloud_integration)
    before = len(fake_nextcloud.calls("MKCOL"))

    created(nextcloud_integration, description="Battery swollen")

    assert [call.path for call in fake_nextcloud.calls("MKCOL")[before:]] == [f"{ROOT}/RMA-2 - Battery swollen"]


def test_a_folder_that_already_exists_is_used_as_it_is(fake_nextcloud, nextcloud_integration):
    existing = fake_nextcloud.add_folder(FOLDER)
    fake_nextcloud.add_file(f"{FOLDER}/photo.jpg", "a photo")

    created(nextcloud_integration)

    sync = latest_sync(nextcloud_integration, EventType.WORKITEM_CREATED)
    assert sync.external_url == f"{BASE_URL}/index.php/f/{existing.file_id}"
    assert fake_nextcloud.text(f"{FOLDER}/photo.jpg") == "a photo"
    assert len(history_lines(fake_nextcloud)) == 1
    (propfind,) = fake_nextcloud.calls("PROPFIND")
    assert propfind.headers["depth"] == "0"


def test_names_with_slashes_dots_and_unicode_stay_one_encoded_name_inside_the_root(
    fake_nextcloud, nextcloud_integration, tenant
):
    tenant.name = "Zürich/../Werkstatt #1"
    tenant.save()

    created(nextcloud_integration, description="Écran cassé: 50% / ../../etc? <urgent>")

    folder = "/Fieldhook/Zürich .. Werkstatt #1/RMA-1 - Écran cassé 50% .. .. etc urgent"
    assert folder in fake_nextcloud.folders()
    (put,) = fake_nextcloud.calls("PUT", re.escape(folder) + "/workitem.md")
    assert put.raw_path == (
        f"{DAV}/Fieldhook/Z%C3%BCrich%20..%20Werkstatt%20%231/"
        "RMA-1%20-%20%C3%89cran%20cass%C3%A9%2050%25%20..%20..%20etc%20urgent/workitem.md"
    )


def test_folders_can_be_named_by_reference_only(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, folder_names="reference")

    created(nextcloud_integration)

    assert f"{ROOT}/RMA-1" in fake_nextcloud.folders()


def test_an_empty_root_folder_puts_the_folders_in_the_users_home(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, root_folder="")

    created(nextcloud_integration)

    assert fake_nextcloud.folders() == ["/", "/RMA-1 - Cracked screen"]


# --- Later events --------------------------------------------------------------------------------


def test_a_status_change_rewrites_the_summary_and_adds_a_history_line(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    folders_made = len(fake_nextcloud.calls("MKCOL"))

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.last_status_code, sync.external_id) == ("synced", 204, FOLDER)
    assert "- **Status:** In Progress" in fake_nextcloud.text(f"{FOLDER}/workitem.md")
    first, second = history_lines(fake_nextcloud)
    assert "Created in Fieldhook" in first
    assert re.search(r"UTC\*\* — Status: New → In Progress \*\(event \w{8}\)\*$", second)
    assert len(fake_nextcloud.calls("MKCOL")) == folders_made  # a linked folder is written to directly
    history_put = fake_nextcloud.calls("PUT", re.escape(FOLDER) + "/history.md")[-1]
    assert history_put.headers["if-match"]  # written only over the version just read


def test_several_changes_share_one_history_line(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)

    services.workitem_update(workitem=workitem, priority="High", comments="Customer called")
    deliver(nextcloud_integration, EventType.WORKITEM_UPDATED)

    line = history_lines(fake_nextcloud)[-1]
    changes = line.split(" — ", 1)[1].rsplit(" *(event", 1)[0]
    assert sorted(changes.split("; ")) == ["Comments: — → Customer called", "Priority: Standard → High"]


def test_a_retried_event_does_not_add_its_history_line_twice(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    fake_nextcloud.time_out_after_next("PUT", re.escape(FOLDER) + "/history.md")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    first = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)
    assert (first.status, SyncAttempt.objects.filter(sync=first).get().error_class) == ("pending", "timeout")
    make_due(first)

    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len([line for line in history_lines(fake_nextcloud) if "Status: New → Closed" in line]) == 1
    assert len(fake_nextcloud.calls("PUT", re.escape(FOLDER) + "/history.md")) == 2  # created, then the lost one


def test_a_history_edited_meanwhile_is_left_alone_and_tried_again_later(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    fake_nextcloud.fail_next("PUT", re.escape(FOLDER) + "/history.md", status=412)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.last_status_code) == ("pending", 412)
    assert "changed in Nextcloud while Fieldhook was writing it (HTTP 412)" in sync.last_error


def test_a_folder_deleted_in_nextcloud_is_made_again(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    for path in [p for p in fake_nextcloud.files if p.startswith(FOLDER)]:
        del fake_nextcloud.files[path]

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert [c.path for c in fake_nextcloud.calls("PUT")[-3:-1]] == [f"{FOLDER}/workitem.md"] * 2
    link = ExternalLink.objects.get(integration=nextcloud_integration)
    assert link.details["file_id"] == fake_nextcloud.files[FOLDER].file_id
    assert sync.external_url == f"{BASE_URL}/index.php/f/{fake_nextcloud.files[FOLDER].file_id}"
    assert len(history_lines(fake_nextcloud)) == 1  # a new history.md: what Nextcloud lost stays lost


def test_a_folder_made_again_gets_its_shares_again(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, share_with="ana")
    workitem = created(nextcloud_integration)
    for path in [p for p in fake_nextcloud.files if p.startswith(FOLDER)]:
        del fake_nextcloud.files[path]
    fake_nextcloud.shares.clear()  # Nextcloud deletes a folder's shares with it

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    (share,) = fake_nextcloud.shares
    assert (share["path"], share["share_with"]) == (FOLDER, "ana")
    assert ExternalLink.objects.get().details["shares"] == {"user:ana": {"id": share["id"], "url": ""}}
    assert fake_nextcloud.calls("GET", SHARES) == []  # a folder made just now has no shares to look up


def test_an_event_of_a_work_item_without_a_folder_makes_it(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.fail_next("MKCOL", ".*", status=403)
    workitem = WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")
    assert deliver(nextcloud_integration, EventType.WORKITEM_CREATED).status == "failed"

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.external_id) == ("synced", FOLDER)
    (line,) = history_lines(fake_nextcloud)
    assert "Status: New → In Progress" in line


# --- Shares ----------------------------------------------------------------------------------------


def test_the_folder_is_shared_with_the_configured_user(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, share_with="ana", share_type="user", share_permissions="edit")

    created(nextcloud_integration)

    (post,) = fake_nextcloud.calls("POST", SHARES)
    assert post.json() == {"path": FOLDER, "shareType": 0, "shareWith": "ana", "permissions": 15}
    assert (post.query, post.headers["ocs-apirequest"]) == ({"format": "json"}, "true")
    (share,) = fake_nextcloud.shares
    link = ExternalLink.objects.get(integration=nextcloud_integration)
    assert link.details["shares"] == {"user:ana": {"id": share["id"], "url": ""}}
    assert fake_nextcloud.calls("GET", SHARES) == []  # a folder made just now has no shares to look up


def test_a_group_can_get_a_view_only_share(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, share_with="technicians", share_type="group", share_permissions="view")

    created(nextcloud_integration)

    assert fake_nextcloud.calls("POST", SHARES)[0].json() == {
        "path": FOLDER, "shareType": 1, "shareWith": "technicians", "permissions": 1,
    }  # fmt: skip


def test_a_public_link_becomes_the_syncs_link(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, public_link=True)

    created(nextcloud_integration)

    (post,) = fake_nextcloud.calls("POST", SHARES)
    assert post.json() == {"path": FOLDER, "shareType": 3, "permissions": 1}
    (share,) = fake_nextcloud.shares
    sync = latest_sync(nextcloud_integration, EventType.WORKITEM_CREATED)
    assert sync.external_url == share["url"] == f"{BASE_URL}/s/{share['token']}"
    assert ExternalLink.objects.get().details["shares"] == {"link": {"id": share["id"], "url": share["url"]}}


def test_a_link_made_before_a_timeout_is_found_again_not_made_twice(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, public_link=True)
    fake_nextcloud.time_out_after_next("POST", SHARES)
    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")
    make_due(deliver(nextcloud_integration, EventType.WORKITEM_CREATED))

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    (share,) = fake_nextcloud.shares
    assert (sync.status, sync.external_url) == ("synced", share["url"])
    (lookup,) = fake_nextcloud.calls("GET", SHARES)
    assert lookup.query == {"path": FOLDER, "reshares": "false", "format": "json"}
    assert len(fake_nextcloud.calls("POST", SHARES)) == 1
    assert len(history_lines(fake_nextcloud)) == 1


def test_a_share_turned_on_later_is_added_on_the_next_change(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    configure(nextcloud_integration, share_with="ana")

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert [share["share_with"] for share in fake_nextcloud.shares] == ["ana"]
    assert len(fake_nextcloud.calls("GET", SHARES)) == 1


def test_an_unknown_share_user_fails_permanently_with_nextclouds_reason(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, share_with="nobody")
    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 404)
    assert sync.last_error == (
        f"Nextcloud refused the share with user:nobody of {FOLDER} (HTTP 404, OCS 404): Please specify a valid "
        "account to share with. Check the integration's sharing settings and the server's "
        "(Administration settings › Sharing)."
    )
    assert SyncAttempt.objects.get(sync=sync).error_class == "config"


def test_enforced_link_passwords_fail_permanently_with_nextclouds_reason(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, public_link=True)
    fake_nextcloud.link_password_enforced = True
    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 403)
    assert "(HTTP 403, OCS 403): Passwords are enforced for link and mail shares." in sync.last_error


# --- Errors ----------------------------------------------------------------------------------------


def test_a_wrong_app_password_is_a_permanent_auth_failure(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.app_passwords = {"another-app-password"}
    WorkItemFactory(tenant=nextcloud_integration.tenant)

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, 401)
    assert sync.last_error.startswith(
        "Nextcloud refused the app password of 'fieldhook' (HTTP 401): No public access to this resource., "
    )
    assert "Create a new app password (Personal settings › Security › Devices & sessions)" in sync.last_error
    assert SyncAttempt.objects.get(sync=sync).error_class == "auth"
    assert APP_PASSWORD not in sync.last_error + SyncAttempt.objects.get(sync=sync).response_excerpt


def test_a_folder_the_user_may_not_write_is_a_permanent_failure(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.fail_next("MKCOL", ".*", status=403)
    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 403)
    assert sync.last_error.startswith(f"Nextcloud does not let 'fieldhook' write the folder {FOLDER} (HTTP 403)")


def test_a_locked_file_is_tried_again_later(fake_nextcloud, nextcloud_integration):
    workitem = created(nextcloud_integration)
    fake_nextcloud.locked.add(f"{FOLDER}/workitem.md")

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("pending", 1, 423)
    assert sync.last_error == (
        f'Nextcloud says {FOLDER}/workitem.md is locked (HTTP 423): "{FOLDER.lstrip("/")}/workitem.md" is '
        "locked. It is probably open in an editor or being synced; Fieldhook tries again later."
    )


def test_a_full_quota_fails_permanently_and_says_what_to_do(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.quota_bytes = 100
    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Cracked screen")

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 507)
    assert sync.last_error.startswith(f"Nextcloud has no room for {FOLDER}/workitem.md (HTTP 507): Insufficient space")
    assert "over its storage quota or the server's disk is full: free space or raise the quota" in sync.last_error


def test_a_429_is_retried_no_earlier_than_its_retry_after(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.fail_next("MKCOL", ".*", status=429, **{"Retry-After": "120"})
    WorkItemFactory(tenant=nextcloud_integration.tenant)

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("pending", 429)
    assert SyncAttempt.objects.get(sync=sync).error_class == "http_429"
    assert sync.next_attempt_at >= timezone.now() + datetime.timedelta(seconds=115)
    assert sync.last_error == "Nextcloud is rate limiting us (429): Reached maximum delay."


def test_a_server_error_is_retried_later_not_inside(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.fail_next("PUT", ".*/workitem.md", status=503)
    WorkItemFactory(tenant=nextcloud_integration.tenant)

    sync = deliver(nextcloud_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts) == ("pending", 1)
    assert sync.last_error == "Nextcloud failed with HTTP 503: System in maintenance mode."
    assert len(fake_nextcloud.calls("PUT")) == 1


def test_a_read_that_fails_once_is_tried_again_within_the_delivery(
    fake_nextcloud, nextcloud_integration, read_retry_pauses
):
    workitem = created(nextcloud_integration)
    fake_nextcloud.fail_next("GET", re.escape(FOLDER) + "/history.md", status=503)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(nextcloud_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts) == ("synced", 1)
    assert len(fake_nextcloud.calls("GET", re.escape(FOLDER) + "/history.md")) == 3  # created, then 503 and again
    assert len(read_retry_pauses) == 1
    assert len(history_lines(fake_nextcloud)) == 2


NEW_FOLDER = f"{ROOT}/RMA-2 - Battery swollen"


@pytest.mark.parametrize(
    ("status", "for_a_new_folder", "for_a_linked_folder"),
    [
        (404, [f"MKCOL {NEW_FOLDER}"], [f"PUT {FOLDER}/workitem.md", f"MKCOL {FOLDER}"]),
        (
            409,
            [f"MKCOL {NEW_FOLDER}", f"MKCOL {ROOT}", "MKCOL /Fieldhook"],
            [f"PUT {FOLDER}/workitem.md", f"MKCOL {FOLDER}", f"MKCOL {ROOT}", "MKCOL /Fieldhook"],
        ),
    ],
)
def test_a_server_answering_everything_with_a_missing_parent_is_not_asked_in_a_loop(
    fake_nextcloud, nextcloud_integration, status, for_a_new_folder, for_a_linked_folder
):
    """A 404 or 409 ('the folder or its parent is missing') makes the connector climb up and make
    what is missing: a server that says so to every request fails the delivery after one request
    per folder level, it does not loop."""
    workitem = created(nextcloud_integration)
    for method in ("MKCOL", "PUT", "GET", "PROPFIND"):
        fake_nextcloud.fail_next(method, ".*", status=status, times=100)

    def delivered(event_type: str) -> tuple[str, list[str]]:
        before = len(fake_nextcloud.requests)
        sync = deliver(nextcloud_integration, event_type)
        return sync.status, [f"{r.method} {r.path}" for r in fake_nextcloud.requests[before:]]

    WorkItemFactory(tenant=nextcloud_integration.tenant, description="Battery swollen")
    assert delivered(EventType.WORKITEM_CREATED) == ("failed", for_a_new_folder)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    assert delivered(EventType.WORKITEM_STATUS_CHANGED) == ("failed", for_a_linked_folder)
