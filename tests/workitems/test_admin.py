"""The work item admin shows and offers a tenant admin only the rows of their tenants.

Acme's owner is a staff tenant admin without Django model permissions; Globex's rows
(customer "Gary Globex", user "outsider") must never reach them.
"""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tenants.models import Membership
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    MembershipFactory,
    TenantFactory,
    WorkItemFactory,
)
from tests.helpers import logged_in, staff
from workitems import services
from workitems.models import WorkItem

CHANGELIST = reverse("admin:workitems_workitem_changelist")
ADD = reverse("admin:workitems_workitem_add")


def change_url(workitem: WorkItem) -> str:
    return reverse("admin:workitems_workitem_change", args=[workitem.pk])


@pytest.fixture
def acme_item(tenant, member):
    return WorkItemFactory(
        tenant=tenant,
        description="Cracked screen on Acme phone",
        customer=CustomerFactory(tenant=tenant, name="Alice Acme"),
        customer_asset=CustomerAssetFactory(tenant=tenant, customer=None, name="Acme Pixel 8"),
        dropoff_point=DropoffPointFactory(tenant=tenant, name="Acme Main Street"),
        technician=member,
    )


@pytest.fixture
def globex_item(other_tenant, outsider):
    """Globex's second item: RMA-2 exists only at Globex."""
    WorkItemFactory(tenant=other_tenant, description="Globex first job")
    return WorkItemFactory(
        tenant=other_tenant,
        description="Globex flux capacitor overhaul",
        customer=CustomerFactory(tenant=other_tenant, name="Gary Globex"),
        customer_asset=CustomerAssetFactory(tenant=other_tenant, customer=None, name="Globex Hyperdrive"),
        dropoff_point=DropoffPointFactory(tenant=other_tenant, name="Globex Locker 7"),
        technician=outsider,
    )


def form_data(for_tenant, **overrides) -> dict:
    """A complete POST for the work item add/change form, with an empty notes inline."""
    data = {
        "tenant": for_tenant.pk,
        "description": "Battery swells",
        "status": WorkItem.Status.NEW,
        "type": WorkItem.Type.CHARGEABLE_REPAIR,
        "priority": WorkItem.Priority.STANDARD,
        "intake_method": WorkItem.IntakeMethod.WALK_IN,
        "created_date_0": "2025-03-01",
        "created_date_1": "10:00:00",
        "due_date_0": "",
        "due_date_1": "",
        "customer": "",
        "customer_asset": "",
        "owner": "",
        "technician": "",
        "dropoff_point": "",
        "estimated_price": "",
        "final_price": "",
        "comments": "",
        "notes-TOTAL_FORMS": "0",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def listed_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_superuser_sees_work_items_of_every_tenant(superuser_client, acme_item, globex_item):
    response = superuser_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed_pks(response) >= {acme_item.pk, globex_item.pk}
    assert "Globex flux capacitor overhaul" in response.text


@pytest.mark.parametrize(
    ("url_name", "acme_name", "globex_name"),
    [
        ("admin:workitems_customer_changelist", "Alice Acme", "Gary Globex"),
        ("admin:workitems_customerasset_changelist", "Acme Pixel 8", "Globex Hyperdrive"),
        ("admin:workitems_dropoffpoint_changelist", "Acme Main Street", "Globex Locker 7"),
    ],
)
def test_superuser_sees_related_records_of_every_tenant(
    superuser_client, acme_item, globex_item, url_name, acme_name, globex_name
):
    response = superuser_client.get(reverse(url_name))

    assert response.status_code == 200
    assert acme_name in response.text
    assert globex_name in response.text


def test_tenant_admin_opens_the_admin_index(owner_client):
    response = owner_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert CHANGELIST in response.text


def test_tenant_admin_sees_only_their_tenants_work_items(owner_client, acme_item, globex_item):
    response = owner_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed_pks(response) == {acme_item.pk}
    assert "Cracked screen on Acme phone" in response.text
    assert "Globex flux capacitor overhaul" not in response.text
    assert "Gary Globex" not in response.text
    assert "RMA-2" not in response.text


@pytest.mark.parametrize(
    ("url_name", "acme_name", "globex_name"),
    [
        ("admin:workitems_customer_changelist", "Alice Acme", "Gary Globex"),
        ("admin:workitems_customerasset_changelist", "Acme Pixel 8", "Globex Hyperdrive"),
        ("admin:workitems_dropoffpoint_changelist", "Acme Main Street", "Globex Locker 7"),
    ],
)
def test_tenant_admin_sees_only_their_tenants_related_records(
    owner_client, acme_item, globex_item, url_name, acme_name, globex_name
):
    response = owner_client.get(reverse(url_name))

    assert response.status_code == 200
    assert acme_name in response.text
    assert globex_name not in response.text


def test_another_tenants_work_item_change_page_redirects_to_the_index(owner_client, globex_item):
    response = owner_client.get(change_url(globex_item))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert "Globex flux capacitor overhaul" not in response.text
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"work item with ID “{globex_item.pk}” doesn\u2019t exist. Perhaps it was deleted?"
    ]


def test_another_tenants_work_item_cannot_be_changed_by_post(owner_client, tenant, other_tenant, globex_item):
    response = owner_client.post(
        change_url(globex_item), form_data(other_tenant, description="Hijacked", customer=globex_item.customer_id)
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    globex_item.refresh_from_db()
    assert globex_item.description == "Globex flux capacitor overhaul"


def test_tenant_filter_lists_only_the_users_tenants(owner, owner_client, tenant, acme_item, globex_item):
    initech = TenantFactory(name="Initech", slug="initech")
    MembershipFactory(user=owner, tenant=initech, role=Membership.Role.ADMIN)
    WorkItemFactory(tenant=initech, description="Initech printer")

    response = owner_client.get(CHANGELIST)

    tenant_filter = next(spec for spec in response.context["cl"].filter_specs if spec.field_path == "tenant")
    assert sorted(name for _, name in tenant_filter.lookup_choices) == ["Acme Repairs", "Initech"]
    assert "Globex" not in response.text


def test_add_form_offers_only_the_users_tenants_rows_and_members(owner_client, acme_item, globex_item):
    response = owner_client.get(ADD)

    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert [str(t) for t in fields["tenant"].queryset] == ["Acme Repairs"]
    assert [str(c) for c in fields["customer"].queryset] == ["Alice Acme"]
    assert [str(a) for a in fields["customer_asset"].queryset] == ["Acme Pixel 8"]
    assert [str(d) for d in fields["dropoff_point"].queryset] == ["Acme Main Street"]
    for field in ("owner", "technician"):
        assert sorted(u.username for u in fields[field].queryset) == ["member", "owner"]
    for other in ("Globex", "Gary Globex", "Globex Hyperdrive", "Globex Locker 7", "outsider"):
        assert other not in response.text


@pytest.mark.parametrize("field", ["tenant", "customer", "customer_asset", "dropoff_point", "owner", "technician"])
def test_add_form_rejects_another_tenants_row(owner_client, tenant, other_tenant, globex_item, outsider, field):
    foreign = {
        "tenant": other_tenant.pk,
        "customer": globex_item.customer_id,
        "customer_asset": globex_item.customer_asset_id,
        "dropoff_point": globex_item.dropoff_point_id,
        "owner": outsider.pk,
        "technician": outsider.pk,
    }[field]
    count_before = WorkItem.objects.count()

    response = owner_client.post(ADD, form_data(tenant, **{field: foreign}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert "Select a valid choice" in errors[field][0]
    assert WorkItem.objects.count() == count_before


def test_adding_a_work_item_assigns_the_tenants_next_reference_id(owner_client, tenant, acme_item, globex_item):
    response = owner_client.post(ADD, form_data(tenant, description="Water damage"))

    assert response.status_code == 302
    assert response.url == CHANGELIST
    created = WorkItem.objects.get(description="Water damage")
    assert (created.tenant, created.reference_id) == (tenant, "RMA-2")


def test_superuser_linking_another_tenants_customer_gets_a_field_error(
    superuser_client, tenant, acme_item, globex_item
):
    response = superuser_client.post(
        change_url(acme_item),
        form_data(tenant, description=acme_item.description, customer=globex_item.customer_id),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"customer": ["This belongs to another tenant."]}
    acme_item.refresh_from_db()
    assert acme_item.customer.name == "Alice Acme"


def test_superuser_adding_with_another_tenants_customer_gets_a_field_error(superuser_client, tenant, globex_item):
    count_before = WorkItem.objects.count()

    response = superuser_client.post(ADD, form_data(tenant, customer=globex_item.customer_id))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"customer": ["This belongs to another tenant."]}
    assert WorkItem.objects.count() == count_before


def test_member_without_model_permissions_cannot_open_the_changelist(member, acme_item):
    response = logged_in(staff(member)).get(CHANGELIST)

    assert response.status_code == 403


def test_change_page_shows_the_work_items_notes(owner_client, owner, acme_item, globex_item):
    services.workitem_note_create(workitem=acme_item, body="Customer called about pickup", author=owner)
    services.workitem_note_create(workitem=acme_item, body="Status changed to New", kind="system")
    services.workitem_note_create(workitem=globex_item, body="Globex internal note")

    response = owner_client.get(change_url(acme_item))

    assert response.status_code == 200
    assert "Customer called about pickup" in response.text
    assert "Status changed to New" in response.text
    assert "Globex internal note" not in response.text


def test_a_work_items_tenant_is_fixed_once_created(superuser_client, tenant, other_tenant, globex_item):
    """Its reference id comes from the tenant's sequence: moving it would collide (Globex has RMA-1)."""
    item = WorkItemFactory(tenant=tenant, customer=None, description="Stays at Acme")

    response = superuser_client.post(change_url(item), form_data(other_tenant, description="Stays at Acme"))

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.tenant, item.reference_id) == (tenant, "RMA-1")


def test_a_tenant_admin_sees_nothing_of_a_tenant_where_they_are_only_a_member(owner, acme_item, globex_item):
    MembershipFactory(user=owner, tenant=globex_item.tenant, role=Membership.Role.MEMBER)

    changelist = logged_in(staff(owner)).get(CHANGELIST)
    change_page = logged_in(owner).get(change_url(globex_item))

    assert changelist.status_code == 200
    assert acme_item.description in changelist.text
    assert globex_item.description not in changelist.text
    assert change_page.status_code == 302


def test_a_customer_cannot_be_moved_to_another_tenant(owner, tenant, other_tenant):
    MembershipFactory(user=owner, tenant=other_tenant, role=Membership.Role.ADMIN)
    customer = CustomerFactory(tenant=tenant, name="Stays Put")
    url = reverse("admin:workitems_customer_change", args=[customer.pk])

    logged_in(staff(owner)).post(url, {"tenant": other_tenant.pk, "name": "Stays Put", "email": "", "phone": ""})

    customer.refresh_from_db()
    assert customer.tenant_id == tenant.pk
