"""The OpenProject connector through the real engine (`sync_deliver`) against the fake
OpenProject: the exact requests, and what Fieldhook records for each answer."""

import base64
import datetime
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.connectors import registry
from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, ExternalLink, SyncAttempt, TenantIntegration
from integrations.services import integration_connector, integration_send_test_event, integration_test_connection
from tests.factories import CustomerFactory, UserFactory, WorkItemFactory
from tests.fakes.openproject import API_KEY, BASE_URL
from tests.fakes.openproject_oauth import CLIENT_ID, CLIENT_SECRET
from tests.integrations.connectors.delivery import configure, created, deliver, make_due
from workitems import services
from workitems.models import WorkItem, WorkItemNote

CREATE = r"/api/v3/projects/3/work_packages"
PACKAGE = r"/api/v3/work_packages/\d+"


# --- Creating a work package -------------------------------------------------------------------


def test_a_new_work_item_becomes_a_work_package(fake_openproject, openproject_integration, tenant):
    customer = CustomerFactory(tenant=tenant, name="Ana Silva", email="ana@example.com")
    due = timezone.now() + datetime.timedelta(days=3)
    workitem = WorkItemFactory(
        tenant=tenant, description="Cracked screen", customer=customer, due_date=due, estimated_price=Decimal("89.50")
    )

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    (call,) = fake_openproject.calls("POST", CREATE)
    assert call.query == {"notify": "false"}
    body = call.body
    assert body["subject"] == f"{workitem.reference_id}: Cracked screen"
    assert body["dueDate"] == due.date().isoformat()
    assert body["_links"] == {"type": {"href": "/api/v3/types/1"}}
    assert body["description"]["format"] == "markdown"
    raw = body["description"]["raw"]
    for fact in ("**Customer:** Ana Silva (ana@example.com)", "**Status:** New", "**Priority:** Standard"):
        assert fact in raw
    assert "**Estimated price:** 89.50" in raw
    assert f"**Due date:** {due.date().isoformat()}" in raw
    assert f"{settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/{workitem.pk}/change/" in raw
    (package,) = fake_openproject.work_packages.values()
    assert package["subject"] == body["subject"]


def test_the_work_package_is_linked_and_announced_in_a_system_note(fake_openproject, openproject_integration):
    workitem = WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    url = f"{BASE_URL}/work_packages/1"
    assert (sync.external_id, sync.external_url, sync.last_status_code) == ("1", url, 201)
    link = ExternalLink.objects.get(integration=openproject_integration, object_id=workitem.pk)
    assert (link.external_id, link.external_url) == ("1", url)
    notes = WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).values_list("body", flat=True)
    assert list(notes) == [f"Sent workitem_created to OpenProject ({url})."]


def test_a_long_description_is_cut_to_a_one_line_subject_of_255_characters(fake_openproject, openproject_integration):
    WorkItemFactory(tenant=openproject_integration.tenant, description="Screen\n\ncracked " + "x" * 400)

    deliver(openproject_integration, EventType.WORKITEM_CREATED)

    subject = fake_openproject.calls("POST", CREATE)[0].body["subject"]
    assert len(subject) == 255
    assert subject.startswith("RMA-1: Screen cracked xxx")


def test_custom_fields_carry_the_mapped_work_item_values(fake_openproject, openproject_integration, tenant):
    configure(openproject_integration, custom_fields={"customField1": "reference_id", "customField4": "customer.name"})
    WorkItemFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant, name="Ana Silva"))

    deliver(openproject_integration, EventType.WORKITEM_CREATED)

    body = fake_openproject.calls("POST", CREATE)[0].body
    assert (body["customField1"], body["customField4"]) == ("RMA-1", "Ana Silva")
    assert fake_openproject.work_packages[1]["customField1"] == "RMA-1"


def test_an_initial_status_is_sent_when_configured(fake_openproject, openproject_integration):
    configure(openproject_integration, default_status_id=7)
    WorkItemFactory(tenant=openproject_integration.tenant)

    deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert fake_openproject.calls("POST", CREATE)[0].body["_links"]["status"] == {"href": "/api/v3/statuses/7"}
    assert fake_openproject.work_packages[1]["status_id"] == 7


def test_the_technician_is_assigned_from_the_assignee_map(fake_openproject, openproject_integration, member):
    configure(openproject_integration, assignee_map={member.email.upper(): 11})
    WorkItemFactory(tenant=openproject_integration.tenant, technician=member)

    deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert fake_openproject.calls("POST", CREATE)[0].body["_links"]["assignee"] == {"href": "/api/v3/users/11"}
    assert fake_openproject.calls("GET", r"/api/v3/users") == []


def test_a_technician_not_in_the_map_is_found_by_email_and_remembered(
    fake_openproject, openproject_integration, member
):
    fake_openproject.add_user(user_id=5, email=member.email, name="Mia Member")
    fake_openproject.add_user(user_id=6, email="other." + member.email, name="Someone Else")
    for _ in range(2):
        WorkItemFactory(tenant=openproject_integration.tenant, technician=member)
        deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert [c.body["_links"]["assignee"] for c in fake_openproject.calls("POST", CREATE)] == [
        {"href": "/api/v3/users/5"}
    ] * 2
    (search,) = fake_openproject.calls("GET", r"/api/v3/users")
    assert search.filters == [{"any_name_attribute": {"operator": "~", "values": [member.email]}}]


@pytest.mark.parametrize("users_visible", [True, False], ids=["unknown-user", "users-not-visible"])
def test_a_technician_openproject_does_not_know_is_left_unassigned(
    fake_openproject, openproject_integration, member, users_visible
):
    fake_openproject.users_visible = users_visible
    WorkItemFactory(tenant=openproject_integration.tenant, technician=member)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert "assignee" not in fake_openproject.calls("POST", CREATE)[0].body["_links"]


# --- Errors on create --------------------------------------------------------------------------


def test_a_rejected_work_package_fails_permanently_with_openprojects_reason(fake_openproject, openproject_integration):
    configure(openproject_integration, type_id=99)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, 422)
    assert sync.last_error == (
        "OpenProject rejected the work package (PropertyConstraintViolation): "
        "Type is not set to one of the allowed values."
    )
    assert fake_openproject.work_packages == {}


def test_several_rejections_are_all_reported(fake_openproject, openproject_integration):
    configure(openproject_integration, type_id=99, default_status_id=99)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert sync.last_error == (
        "OpenProject rejected the work package (PropertyConstraintViolation): "
        "Type is not set to one of the allowed values; Status is not set to one of the allowed values."
    )


def test_an_unknown_project_fails_permanently(fake_openproject, openproject_integration):
    configure(openproject_integration, project="404")
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert sync.last_error.startswith("OpenProject project '404' was not found, or the API user has no permission")
    assert "(NotFound)" in sync.last_error


def test_a_wrong_api_key_is_a_permanent_auth_failure(fake_openproject, openproject_integration):
    fake_openproject.api_keys = {"another-key"}
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 401)
    assert "refused our credentials (HTTP 401)" in sync.last_error
    assert SyncAttempt.objects.get(sync=sync).error_class == "auth"
    assert API_KEY not in sync.last_error


def test_a_server_error_on_create_is_retried_later_not_inside(fake_openproject, openproject_integration):
    fake_openproject.fail_next("POST", CREATE, status=503)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts) == ("pending", 1)
    assert "HTTP 503" in sync.last_error
    assert len(fake_openproject.calls("POST", CREATE)) == 1


def test_a_create_that_timed_out_is_adopted_on_the_next_attempt(fake_openproject, openproject_integration):
    fake_openproject.time_out_after_next("POST", CREATE)
    WorkItemFactory(tenant=openproject_integration.tenant)
    first = deliver(openproject_integration, EventType.WORKITEM_CREATED)
    assert (first.status, SyncAttempt.objects.get(sync=first).error_class) == ("pending", "timeout")
    make_due(first)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id) == ("synced", "1")
    assert list(fake_openproject.work_packages) == [1]
    assert len(fake_openproject.calls("POST", CREATE)) == 1
    (lookup,) = fake_openproject.calls("GET", CREATE)
    assert lookup.filters == [
        {"status": {"operator": "*", "values": []}},
        {"subject": {"operator": "~", "values": ["RMA-1:"]}},
    ]


def test_the_lookup_also_finds_a_work_package_closed_meanwhile(fake_openproject, openproject_integration):
    fake_openproject.time_out_after_next("POST", CREATE)
    WorkItemFactory(tenant=openproject_integration.tenant)
    make_due(deliver(openproject_integration, EventType.WORKITEM_CREATED))
    fake_openproject.work_packages[1]["status_id"] = 12
    fake_openproject.add_work_package(subject="RMA-10: another work item")

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id) == ("synced", "1")
    assert len(fake_openproject.work_packages) == 2


def test_the_lookup_uses_the_reference_custom_field_when_there_is_one(fake_openproject, openproject_integration):
    configure(openproject_integration, custom_fields={"customField1": "reference_id"})
    fake_openproject.time_out_after_next("POST", CREATE)
    WorkItemFactory(tenant=openproject_integration.tenant)
    make_due(deliver(openproject_integration, EventType.WORKITEM_CREATED))

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id) == ("synced", "1")
    assert fake_openproject.calls("GET", CREATE)[0].filters[1] == {
        "customField1": {"operator": "~", "values": ["RMA-1"]}
    }


def test_a_retried_create_that_finds_nothing_creates_the_work_package(fake_openproject, openproject_integration):
    fake_openproject.fail_next("POST", CREATE, status=502)
    WorkItemFactory(tenant=openproject_integration.tenant)
    make_due(deliver(openproject_integration, EventType.WORKITEM_CREATED))

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id) == ("synced", "1")
    assert len(fake_openproject.calls("POST", CREATE)) == 2
    assert len(fake_openproject.work_packages) == 1


# --- Authentication headers ----------------------------------------------------------------------


def test_the_api_key_is_sent_as_basic_apikey(fake_openproject, openproject_integration):
    WorkItemFactory(tenant=openproject_integration.tenant)

    deliver(openproject_integration, EventType.WORKITEM_CREATED)

    expected = "Basic " + base64.b64encode(f"apikey:{API_KEY}".encode()).decode()
    assert fake_openproject.requests[0].headers["Authorization"] == expected


def test_the_api_key_can_be_sent_as_a_bearer_token(fake_openproject, openproject_integration):
    configure(openproject_integration, auth_method="api_key_bearer")
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert fake_openproject.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


# --- Status changes -----------------------------------------------------------------------------


def test_a_status_change_moves_the_work_package_with_its_current_lock_version(
    fake_openproject, openproject_integration
):
    workitem = created(openproject_integration)
    fake_openproject.work_packages[1]["lockVersion"] = 4  # edited in OpenProject since

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.external_id) == ("synced", "1")
    (patch,) = fake_openproject.calls("PATCH", PACKAGE)
    assert patch.path == "/api/v3/work_packages/1"
    assert patch.body == {"lockVersion": 4, "_links": {"status": {"href": "/api/v3/statuses/12"}}}
    assert (fake_openproject.work_packages[1]["status_id"], fake_openproject.work_packages[1]["lockVersion"]) == (12, 5)


def test_a_local_status_goes_to_the_openproject_status_of_the_same_name(fake_openproject, openproject_integration):
    """ "In Progress" is mapped from both Review and In progress: the same name wins, whatever the stored order."""
    workitem = created(openproject_integration)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert fake_openproject.work_packages[1]["status_id"] == 7


def test_a_work_package_already_in_an_equivalent_status_is_left_alone(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)
    fake_openproject.work_packages[1]["status_id"] = 8  # Review, which maps to In Progress

    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_openproject.calls("PATCH", PACKAGE) == []
    assert fake_openproject.work_packages[1]["status_id"] == 8


def test_statuses_are_looked_up_once_for_several_changes(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)
    for status in (WorkItem.Status.IN_PROGRESS, WorkItem.Status.CLOSED):
        services.workitem_update(workitem=workitem, status=status)
        assert deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED).status == "synced"

    assert len(fake_openproject.calls("GET", r"/api/v3/statuses")) == 1
    assert len(fake_openproject.calls("PATCH", PACKAGE)) == 2


def test_a_conflict_is_read_again_and_retried_once(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)
    fake_openproject.edit_concurrently(1)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts) == ("synced", 1)
    assert [c.body["lockVersion"] for c in fake_openproject.calls("PATCH", PACKAGE)] == [0, 1]
    assert len(fake_openproject.calls("GET", PACKAGE)) == 2
    assert fake_openproject.work_packages[1]["status_id"] == 12


def test_a_second_conflict_is_left_for_a_later_attempt(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)
    fake_openproject.edit_concurrently(1, times=2)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("pending", 1, 409)
    assert "changed while we moved it (HTTP 409, twice)" in sync.last_error
    assert len(fake_openproject.calls("PATCH", PACKAGE)) == 2


def test_an_unmapped_local_status_fails_permanently_and_says_where_to_map_it(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.AWAITING_PARTS)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "failed"
    assert sync.last_error == (
        "The Fieldhook status 'Awaiting Parts' is not mapped to an OpenProject status: add a row with "
        "'Awaiting Parts' as Fieldhook status to the integration's status map."
    )
    assert fake_openproject.calls("PATCH", PACKAGE) == []


def test_a_mapped_status_openproject_does_not_have_fails_permanently(fake_openproject, openproject_integration):
    configure(openproject_integration, status_map={"New": "New", "Waiting for parts": "Awaiting Parts"})
    workitem = created(openproject_integration)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.AWAITING_PARTS)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "failed"
    assert sync.last_error.startswith("OpenProject has no status named 'Waiting for parts' (it has: New, In progress")


def test_a_status_change_without_a_linked_work_package_fails_permanently(fake_openproject, openproject_integration):
    configure(openproject_integration, type_id=99)
    workitem = WorkItemFactory(tenant=openproject_integration.tenant)
    assert deliver(openproject_integration, EventType.WORKITEM_CREATED).status == "failed"

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.last_error) == ("failed", "No work package is linked yet: replay the creation first.")


def test_a_brief_server_error_on_a_read_is_retried_inside_the_attempt(
    fake_openproject, openproject_integration, read_retry_pauses
):
    workitem = created(openproject_integration)
    fake_openproject.fail_next("GET", PACKAGE, status=503)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts) == ("synced", 1)
    assert len(fake_openproject.calls("GET", PACKAGE)) == 2
    assert len(read_retry_pauses) == 1
    assert 0 <= read_retry_pauses[0] <= 2


def test_a_read_failing_three_times_is_left_for_a_later_attempt(fake_openproject, openproject_integration):
    workitem = created(openproject_integration)
    fake_openproject.fail_next("GET", PACKAGE, status=503, times=3)

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    sync = deliver(openproject_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.attempts) == ("pending", 1)
    assert len(fake_openproject.calls("GET", PACKAGE)) == 3


# --- Other changes, test events -----------------------------------------------------------------


def test_other_changes_become_a_comment_on_the_work_package(fake_openproject, openproject_integration):
    workitem = created(openproject_integration, description="Cracked screen")

    services.workitem_update(workitem=workitem, description="Cracked screen and battery", priority="High")
    sync = deliver(openproject_integration, EventType.WORKITEM_UPDATED)

    assert (sync.status, sync.last_status_code) == ("synced", 201)
    (call,) = fake_openproject.calls("POST", r"/api/v3/work_packages/1/activities")
    raw = call.body["comment"]["raw"]
    assert "- **Description:** Cracked screen → Cracked screen and battery" in raw
    assert "- **Priority:** Standard → High" in raw
    assert fake_openproject.activities[0]["raw"] == raw


def test_the_test_event_checks_the_project_and_creates_nothing(fake_openproject, openproject_integration):
    sync = integration_send_test_event(integration=openproject_integration)

    sync_deliver(sync_id=sync.pk)

    sync.refresh_from_db()
    assert sync.status == "synced"
    assert [(r.method, r.path) for r in fake_openproject.requests] == [("GET", "/api/v3/projects/3")]
    assert fake_openproject.work_packages == {}


def test_test_connection_names_the_project_and_the_statuses(fake_openproject, openproject_integration):
    assert integration_test_connection(integration=openproject_integration) == (
        True,
        "Connected (API key): project 'Service desk' (#3); statuses it can see: "
        "New, In progress, Review, Closed, Rejected.",
    )


def test_test_connection_reports_an_invisible_project(fake_openproject, openproject_integration):
    configure(openproject_integration, project="77")

    succeeded, message = integration_test_connection(integration=openproject_integration)

    assert not succeeded
    assert message.startswith("OpenProject project '77' was not found, or the API user has no permission")


# --- For the inbound side ----------------------------------------------------------------------


def test_statuses_of_250_work_packages_take_three_filtered_requests(fake_openproject, openproject_integration):
    for number in range(260):
        fake_openproject.add_work_package(subject=f"RMA-{number}: x", status_id=12 if number % 2 else 1)
    ids = [str(i) for i in range(1, 251)]

    statuses = integration_connector(integration=openproject_integration).remote_statuses(ids)

    assert {i: status.status for i, status in statuses.items()} == {i: ("New" if int(i) % 2 else "Closed") for i in ids}
    calls = fake_openproject.calls("GET", r"/api/v3/work_packages")
    assert len(calls) == 3
    id_filters = [next(f["id"] for f in call.filters if "id" in f) for call in calls]
    assert [f["operator"] for f in id_filters] == ["="] * 3
    assert [f["values"] for f in id_filters] == [ids[:100], ids[100:200], ids[200:]]
    assert {(c.query["pageSize"], c.query["offset"]) for c in calls} == {("100", "1")}


def test_statuses_follow_the_pages_when_openproject_caps_the_page_size(fake_openproject, openproject_integration):
    fake_openproject.max_page_size = 40
    for number in range(100):
        fake_openproject.add_work_package(subject=f"RMA-{number}: x")

    statuses = integration_connector(integration=openproject_integration).remote_statuses(
        [str(i) for i in range(1, 101)]
    )

    assert len(statuses) == 100
    assert [c.query["offset"] for c in fake_openproject.calls("GET", r"/api/v3/work_packages")] == ["1", "2", "3"]


def test_statuses_leave_out_work_packages_openproject_does_not_show(fake_openproject, openproject_integration):
    fake_openproject.add_work_package()

    statuses = integration_connector(integration=openproject_integration).remote_statuses(["1", "999"])

    assert [(status.external_id, status.status) for status in statuses.values()] == [("1", "New")]


@pytest.mark.parametrize(
    ("name", "local"),
    [
        ("New", "New"),
        ("in progress", "In Progress"),
        ("REVIEW ", "In Progress"),
        ("Rejected", "Cancelled"),
        ("On hold", None),
    ],
)
def test_local_status_for_maps_openproject_names_case_insensitively(openproject_integration, name, local):
    assert integration_connector(integration=openproject_integration).local_status_for(name) == local


# --- Registry and connection state -----------------------------------------------------------------


def test_openproject_is_a_registered_kind_with_a_rate_limit(db):
    connector = registry.get("openproject")

    assert (connector.label, connector.uses_external_links, connector.default_rate_per_second) == (
        "OpenProject",
        True,
        15,
    )


@pytest.mark.parametrize(
    ("method", "state"), [("api_key_basic", "API key (Basic)"), ("api_key_bearer", "API key (Bearer)")]
)
def test_connection_state_names_the_api_key_method(openproject_integration, method, state):
    configure(openproject_integration, auth_method=method)

    assert integration_connector(integration=openproject_integration).connection_state() == state


def test_connection_state_of_oauth_says_who_and_until_when(openproject_integration):
    configure(openproject_integration, auth_method="oauth2", oauth_client_id="cid")
    openproject_integration.secrets = {
        "oauth_access_token": "at-1",
        "oauth_refresh_token": "rt-1",
        "oauth_expires_at": datetime.datetime(2099, 1, 2, 3, 4, tzinfo=datetime.UTC).timestamp(),
        "oauth_connected_as": "Ana Admin",
    }
    openproject_integration.save()

    state = integration_connector(integration=openproject_integration).connection_state()

    assert state == "OAuth: connected as Ana Admin, token valid until 2099-01-02 03:04 UTC"


def test_connection_state_of_oauth_with_a_token_that_does_not_expire(openproject_integration):
    configure(openproject_integration, auth_method="oauth2", oauth_connected_as="Ana Admin")
    openproject_integration.secrets = {"oauth_access_token": "at-1", "oauth_refresh_token": "rt-1"}
    openproject_integration.save()

    state = integration_connector(integration=openproject_integration).connection_state()

    assert state == "OAuth: connected as Ana Admin, token without an expiry date"


@pytest.mark.parametrize(
    ("secrets", "state"),
    [
        ({}, "OAuth: not connected — use 'Connect to OpenProject'"),
        (
            {"oauth_access_token": "at-1", "oauth_refresh_token": "rt-1", "oauth_expires_at": 1_000_000},
            "OAuth: token expired — it will be refreshed on the next delivery",
        ),
    ],
    ids=["not-connected", "expired"],
)
def test_connection_state_of_oauth_without_a_valid_token(openproject_integration, secrets, state):
    configure(openproject_integration, auth_method="oauth2")
    openproject_integration.secrets = secrets
    openproject_integration.save()

    assert integration_connector(integration=openproject_integration).connection_state() == state


# --- The settings form (admin) --------------------------------------------------------------------

ADD = reverse("admin:integrations_tenantintegration_add")


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def settings_form(tenant, **overrides) -> dict:
    """A complete POST of the OpenProject settings; a value of None leaves the field out."""
    data = {
        "tenant": tenant.pk,
        "name": "OpenProject",
        "integration_type": "openproject",
        "event_types": [EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_base_url": BASE_URL + "/",
        "cfg_project": "3",
        "cfg_type_id": "1",
        "cfg_default_status_id": "",
        "cfg_auth_method": "api_key_basic",
        "cfg_api_key": API_KEY,
        "cfg_oauth_client_id": "",
        "cfg_oauth_client_secret": "",
        "cfg_status_map-0-key": "New",
        "cfg_status_map-0-value": "New",
        "cfg_status_map-1-key": " In progress ",
        "cfg_status_map-1-value": "In Progress",
        "cfg_status_map-2-key": "",
        "cfg_status_map-2-value": "",
        "cfg_status_map-3-key": "Done",
        "cfg_status_map-3-value": "Closed",
        "cfg_custom_fields": '{"customField1": "reference_id"}',
        "cfg_assignee_map": "{}",
        "cfg_poll_enabled": "on",
        "cfg_poll_interval_seconds": "300",
        "cfg_webhook_secret": "op-webhook-secret",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_the_add_page_shows_the_default_status_map_as_an_editable_table(admin_client, tenant):
    response = admin_client.get(ADD + "?integration_type=openproject")

    assert response.status_code == 200
    assert "<th>OpenProject status</th><th>Fieldhook status</th>" in response.text
    for row, (name, local) in enumerate(
        [("New", "New"), ("In Progress", "In Progress"), ("Review", "In Progress"), ("Closed", "Closed")]
    ):
        assert f'name="cfg_status_map-{row}-key" value="{name}"' in response.text
        assert f'name="cfg_status_map-{row}-value" value="{local}"' in response.text
    assert 'name="cfg_status_map-4-value" value="Cancelled"' in response.text
    for empty_row in (5, 6, 7):
        assert f'name="cfg_status_map-{empty_row}-key" value=""' in response.text
    assert 'name="cfg_status_map-8-key"' not in response.text


def test_saving_the_settings_stores_the_table_as_a_dict_and_the_keys_as_secrets(admin_client, tenant):
    response = admin_client.post(ADD, settings_form(tenant))

    assert response.status_code == 302, form_errors(response)
    integration = TenantIntegration.objects.get(tenant=tenant, name="OpenProject")
    assert integration.config["status_map"] == {"New": "New", "In progress": "In Progress", "Done": "Closed"}
    assert integration.config["base_url"] == BASE_URL
    assert (integration.config["type_id"], integration.config["poll_interval_seconds"]) == (1, 300)
    assert integration.config["custom_fields"] == {"customField1": "reference_id"}
    assert integration.secrets == {"api_key": API_KEY, "webhook_secret": "op-webhook-secret"}
    assert API_KEY not in str(integration.config)


def test_the_change_page_shows_the_stored_rows(admin_client, tenant):
    admin_client.post(ADD, settings_form(tenant))
    integration = TenantIntegration.objects.get(tenant=tenant)

    response = admin_client.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk]))

    assert 'value="Done"' in response.text
    assert 'value="Review"' not in response.text
    assert API_KEY not in response.text


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"cfg_status_map-3-value": "Done"}, "cfg_status_map", "“Done” (for “Done”) is not one of: New, In Progress"),
        ({"cfg_status_map-3-value": ""}, "cfg_status_map", "Choose a Fieldhook status for “Done”."),
        ({"cfg_status_map-3-key": ""}, "cfg_status_map", "A row has “Closed” but no OpenProject status."),
        ({"cfg_api_key": ""}, "cfg_api_key", "The API key methods need an API key."),
        ({"cfg_custom_fields": '{"cf1": "reference_id"}'}, "cfg_custom_fields", "'cf1' is not an OpenProject custom"),
        ({"cfg_custom_fields": '{"customField1": "colour"}'}, "cfg_custom_fields", "'colour' is not a work item"),
        ({"cfg_assignee_map": '{"ana@example.com": "x"}'}, "cfg_assignee_map", "The OpenProject user id of"),
        ({"cfg_poll_interval_seconds": "30"}, "cfg_poll_interval_seconds", "Ensure this value is greater than"),
        ({"cfg_base_url": "http://127.0.0.1:8080"}, "cfg_base_url", "Plain http:// is not allowed"),
    ],
    ids=[
        "unknown-status",
        "row-without-status",
        "row-without-name",
        "no-api-key",
        "bad-custom-field",
        "bad-workitem-key",
        "bad-user-id",
        "poll-too-often",
        "plain-http",
    ],
)
def test_invalid_settings_are_reported_on_their_field(admin_client, tenant, settings, overrides, field, error):
    settings.INTEGRATIONS_ALLOW_HTTP = False
    response = admin_client.post(ADD, settings_form(tenant, **overrides))

    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(error)
    assert not TenantIntegration.objects.exists()


def test_oauth_needs_the_client_id_and_secret(admin_client, tenant):
    response = admin_client.post(ADD, settings_form(tenant, cfg_auth_method="oauth2", cfg_api_key=""))

    assert response.status_code == 200
    assert set(form_errors(response)) == {"cfg_oauth_client_id", "cfg_oauth_client_secret"}


def test_oauth_settings_are_saved_with_the_client_secret_encrypted(admin_client, tenant):
    data = settings_form(
        tenant, cfg_auth_method="oauth2", cfg_api_key="", cfg_oauth_client_id="cid", cfg_oauth_client_secret="cs3cr3t"
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302, form_errors(response)
    integration = TenantIntegration.objects.get(tenant=tenant)
    assert (integration.config["auth_method"], integration.config["oauth_client_id"]) == ("oauth2", "cid")
    assert integration.secrets["oauth_client_secret"] == "cs3cr3t"


def test_the_status_conflict_policy_is_saved(admin_client, tenant):
    response = admin_client.post(ADD, settings_form(tenant, status_conflict_policy="newer_wins"))

    assert response.status_code == 302, form_errors(response)
    assert TenantIntegration.objects.get(tenant=tenant).status_conflict_policy == "newer_wins"


def test_a_save_without_the_policy_keeps_it(admin_client, tenant):
    admin_client.post(ADD, settings_form(tenant, status_conflict_policy="tool_wins"))
    integration = TenantIntegration.objects.get(tenant=tenant)
    change = reverse("admin:integrations_tenantintegration_change", args=[integration.pk])

    response = admin_client.post(change, settings_form(tenant, name="OpenProject (renamed)"))

    assert response.status_code == 302, form_errors(response)
    integration.refresh_from_db()
    assert (integration.name, integration.status_conflict_policy) == ("OpenProject (renamed)", "tool_wins")


def test_an_unknown_policy_is_a_form_error(admin_client, tenant):
    response = admin_client.post(ADD, settings_form(tenant, status_conflict_policy="coin_toss"))

    assert response.status_code == 200
    assert list(form_errors(response)) == ["status_conflict_policy"]


# --- OAuth ------------------------------------------------------------------------------------------


def connect_oauth(integration: TenantIntegration, fake, *, expires_in: float) -> tuple[str, str]:
    """The integration as 'Connect to OpenProject' leaves it: tokens from the fake, expiring in `expires_in` s."""
    access, refresh = fake.oauth.issue()
    configure(integration, auth_method="oauth2", oauth_client_id=CLIENT_ID)
    integration.secrets = {
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_access_token": access,
        "oauth_refresh_token": refresh,
        "oauth_expires_at": time.time() + expires_in,
    }
    integration.save()
    return access, refresh


def stored_secrets(integration: TenantIntegration) -> dict:
    return TenantIntegration.objects.get(pk=integration.pk).secrets


def test_a_valid_oauth_token_is_sent_as_bearer_without_a_refresh(fake_openproject, openproject_integration):
    access, _ = connect_oauth(openproject_integration, fake_openproject, expires_in=3600)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert fake_openproject.calls("POST", CREATE)[0].headers["Authorization"] == f"Bearer {access}"
    assert fake_openproject.oauth.refreshes == []


def test_a_token_about_to_expire_is_refreshed_first_and_the_new_tokens_are_stored(
    fake_openproject, openproject_integration
):
    old_access, old_refresh = connect_oauth(openproject_integration, fake_openproject, expires_in=30)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert [(r.method, r.path) for r in fake_openproject.requests] == [
        ("POST", "/oauth/token"),
        ("POST", "/api/v3/projects/3/work_packages"),
    ]
    (refresh,) = fake_openproject.oauth.refreshes
    assert (refresh["grant_type"], refresh["refresh_token"], refresh["client_id"]) == (
        "refresh_token",
        old_refresh,
        CLIENT_ID,
    )
    secrets = stored_secrets(openproject_integration)
    assert secrets["oauth_access_token"] not in (old_access, None)
    assert secrets["oauth_refresh_token"] != old_refresh
    assert secrets["oauth_client_secret"] == CLIENT_SECRET
    assert secrets["oauth_expires_at"] == pytest.approx(time.time() + 7200, abs=60)
    used = fake_openproject.calls("POST", CREATE)[0].headers["Authorization"]
    assert used == f"Bearer {secrets['oauth_access_token']}"


def test_a_refused_token_is_refreshed_once_and_the_request_repeated(fake_openproject, openproject_integration):
    revoked, _ = connect_oauth(openproject_integration, fake_openproject, expires_in=3600)
    fake_openproject.oauth.access_tokens.discard(revoked)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts) == ("synced", 1)
    posts = fake_openproject.calls("POST", CREATE)
    new_token = stored_secrets(openproject_integration)["oauth_access_token"]
    assert [p.headers["Authorization"] for p in posts] == [f"Bearer {revoked}", f"Bearer {new_token}"]
    assert len(fake_openproject.oauth.refreshes) == 1
    assert len(fake_openproject.work_packages) == 1


def test_a_request_refused_again_after_the_refresh_is_an_auth_failure(fake_openproject, openproject_integration):
    connect_oauth(openproject_integration, fake_openproject, expires_in=3600)
    fake_openproject.fail_next("POST", CREATE, status=401, times=2)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 401)
    assert SyncAttempt.objects.get(sync=sync).error_class == "auth"
    assert len(fake_openproject.oauth.refreshes) == 1


def test_a_revoked_grant_is_a_permanent_auth_failure(fake_openproject, openproject_integration):
    _, refresh = connect_oauth(openproject_integration, fake_openproject, expires_in=10)
    fake_openproject.oauth.refresh_tokens.discard(refresh)
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 400)
    assert sync.last_error == (
        "OpenProject refused the refresh token (access revoked?): reconnect with 'Connect to OpenProject'."
    )
    assert SyncAttempt.objects.get(sync=sync).error_class == "auth"
    assert fake_openproject.calls("POST", CREATE) == []


def test_oauth_without_tokens_asks_to_connect(fake_openproject, openproject_integration):
    configure(openproject_integration, auth_method="oauth2", oauth_client_id=CLIENT_ID)
    openproject_integration.secrets = {"oauth_client_secret": CLIENT_SECRET}
    openproject_integration.save()
    WorkItemFactory(tenant=openproject_integration.tenant)

    sync = deliver(openproject_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert "use 'Connect to OpenProject'" in sync.last_error
    assert fake_openproject.requests == []


def test_test_connection_over_oauth_says_so(fake_openproject, openproject_integration):
    connect_oauth(openproject_integration, fake_openproject, expires_in=3600)

    succeeded, message = integration_test_connection(integration=openproject_integration)

    assert succeeded
    assert message.startswith("Connected (OAuth): project 'Service desk' (#3)")
