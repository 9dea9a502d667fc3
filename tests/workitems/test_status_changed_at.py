"""When the status last changed in Fieldhook (`status_changed_at`): stamped by the service and
the admin when the status changes, and only then."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import WorkItemFactory
from tests.workitems.test_admin import form_data
from workitems import services
from workitems.models import WorkItem

LONG_AGO = timezone.now() - datetime.timedelta(days=30)


@pytest.fixture
def workitem(tenant) -> WorkItem:
    item = WorkItemFactory(tenant=tenant)
    WorkItem.objects.filter(pk=item.pk).update(status_changed_at=LONG_AGO)
    item.refresh_from_db()
    return item


def test_a_new_work_item_has_its_status_since_its_creation(tenant):
    before = timezone.now()

    item = WorkItemFactory(tenant=tenant)

    assert before <= item.status_changed_at <= timezone.now()


def test_a_status_change_is_stamped(workitem):
    before = timezone.now()

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    workitem.refresh_from_db()
    assert before <= workitem.status_changed_at <= timezone.now()


def test_other_changes_leave_the_stamp(workitem):
    services.workitem_update(workitem=workitem, comments="Screen ordered", status=workitem.status)

    workitem.refresh_from_db()
    assert workitem.status_changed_at == LONG_AGO


def test_a_status_change_in_the_admin_is_stamped(superuser_client, tenant, workitem):
    url = reverse("admin:workitems_workitem_change", args=[workitem.pk])

    response = superuser_client.post(url, form_data(tenant, description=workitem.description, status="Closed"))

    assert response.status_code == 302
    workitem.refresh_from_db()
    assert (workitem.status, workitem.status_changed_at > LONG_AGO) == ("Closed", True)


def test_an_admin_save_without_a_status_change_leaves_the_stamp(superuser_client, tenant, workitem):
    url = reverse("admin:workitems_workitem_change", args=[workitem.pk])

    response = superuser_client.post(url, form_data(tenant, description="Battery swells and hums"))

    assert response.status_code == 302
    workitem.refresh_from_db()
    assert workitem.status_changed_at == LONG_AGO
