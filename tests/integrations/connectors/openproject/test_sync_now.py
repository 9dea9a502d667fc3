"""A work item OpenProject never received (made before the integration, or whose creation
failed) used to fail every status change for ever ("No work package is linked yet"). Sync
now creates its work package; after that its status changes move it again."""

from integrations import events
from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, ExternalLink, IntegrationSync, TenantIntegration
from tests.factories import WorkItemFactory
from workitems import services
from workitems.models import WorkItem


def deliver_latest(integration: TenantIntegration) -> IntegrationSync:
    sync = IntegrationSync.objects.filter(integration=integration).latest("id")
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    return sync


def test_sync_now_creates_the_missing_work_package_and_later_changes_move_it(
    fake_openproject, openproject_integration, tenant
):
    TenantIntegration.objects.filter(pk=openproject_integration.pk).update(is_active=False)
    workitem = WorkItemFactory(tenant=tenant, description="Made before the integration")
    TenantIntegration.objects.filter(pk=openproject_integration.pk).update(is_active=True)
    openproject_integration.refresh_from_db()
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    assert deliver_latest(openproject_integration).status == "failed"  # no work package to move

    sync = events.workitem_send_current_state(workitem=workitem, integration=openproject_integration)
    assert (sync.event.event_type, deliver_latest(openproject_integration).status) == (
        EventType.WORKITEM_CREATED,
        "synced",
    )

    (package,) = fake_openproject.work_packages.values()
    assert ExternalLink.objects.get(integration=openproject_integration).external_id == str(package["id"])
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    assert deliver_latest(openproject_integration).status == "synced"
    assert fake_openproject.status_name(package["status_id"]) == "Closed"


def test_sync_now_of_a_linked_workitem_moves_its_package_to_the_current_status(
    fake_openproject, openproject_integration, tenant
):
    workitem = WorkItemFactory(tenant=tenant)
    assert deliver_latest(openproject_integration).status == "synced"
    (package,) = fake_openproject.work_packages.values()
    package["status_id"] = next(s["id"] for s in fake_openproject.statuses if s["name"] == "Closed")  # closed by hand

    sync = events.workitem_send_current_state(workitem=workitem, integration=openproject_integration)

    assert sync.event.event_type == EventType.WORKITEM_STATUS_CHANGED
    assert deliver_latest(openproject_integration).status == "synced"
    assert fake_openproject.status_name(package["status_id"]) == "New"
