"""Read-side queries on work items; every one names its tenant."""

from django.db.models import QuerySet

from tenants.models import Tenant
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem, WorkItemNote


def user_display_name(user) -> str:
    """How people are named in the API and in integration payloads."""
    return user.get_full_name() or user.get_username()


def workitems_for_tenant(*, tenant: Tenant) -> QuerySet[WorkItem]:
    """Work items with every relation the list and the payload show, in one query."""
    return WorkItem.objects.filter(tenant=tenant).select_related(
        "tenant", "customer", "owner", "technician", "customer_asset", "dropoff_point"
    )


def notes_for_workitem(*, workitem: WorkItem) -> QuerySet[WorkItemNote]:
    return WorkItemNote.objects.filter(workitem=workitem).select_related("author")


def customers_for_tenant(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.filter(tenant=tenant)


def assets_for_tenant(*, tenant: Tenant) -> QuerySet[CustomerAsset]:
    return CustomerAsset.objects.filter(tenant=tenant).select_related("customer")


def dropoff_points_for_tenant(*, tenant: Tenant) -> QuerySet[DropoffPoint]:
    return DropoffPoint.objects.filter(tenant=tenant)
