"""The data steps of the three-way merge's migrations, run on rows written before them: links
get the work item's current status as their base, work items their last update as the time of
their last status change. The schema is moved back and forward for real (then left at the
newest state, whatever happens)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("workitems", "0002_workitem_status_changed_at"), ("integrations", "0013_status_merge_fields")]
UPDATED_AT = timezone.now() - datetime.timedelta(days=3)

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def newest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_apps():
    try:
        yield migrate(BEFORE)
    finally:
        migrate(newest())


def rows_written_before(apps) -> dict[str, int]:
    tenant = apps.get_model("tenants", "Tenant").objects.create(name="Acme", slug="acme")
    WorkItem = apps.get_model("workitems", "WorkItem")
    kept = WorkItem.objects.create(tenant=tenant, reference_id="RMA-1", description="x", status="In Progress")
    gone = WorkItem.objects.create(tenant=tenant, reference_id="RMA-2", description="y")
    WorkItem.objects.filter(pk=kept.pk).update(updated_at=UPDATED_AT)
    integration = apps.get_model("integrations", "TenantIntegration").objects.create(
        tenant=tenant, name="OpenProject", integration_type="openproject"
    )
    workitem_type = apps.get_model("contenttypes", "ContentType").objects.get(app_label="workitems", model="workitem")
    ExternalLink = apps.get_model("integrations", "ExternalLink")
    kept_link = ExternalLink.objects.create(
        integration=integration, content_type=workitem_type, object_id=kept.pk, external_id="1"
    )
    gone_link = ExternalLink.objects.create(
        integration=integration, content_type=workitem_type, object_id=gone.pk, external_id="2"
    )
    gone.delete()
    return {"workitem": kept.pk, "link": kept_link.pk, "link_of_deleted": gone_link.pk}


def test_existing_links_and_work_items_are_filled_in(old_apps):
    ids = rows_written_before(old_apps)

    apps = migrate(newest())

    ExternalLink = apps.get_model("integrations", "ExternalLink")
    assert ExternalLink.objects.get(pk=ids["link"]).base_status == "In Progress"
    assert ExternalLink.objects.get(pk=ids["link_of_deleted"]).base_status == ""
    assert apps.get_model("workitems", "WorkItem").objects.get(pk=ids["workitem"]).status_changed_at == UPDATED_AT
