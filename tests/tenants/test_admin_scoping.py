"""Tenant and membership admin: a tenant admin sees and edits only their own tenants.

Acme's owner is a staff tenant admin without Django model permissions; Globex (and
its admin "outsider") must stay invisible to them.
"""

from django.urls import reverse

from tenants.models import Membership, Tenant
from tests.helpers import logged_in, staff

TENANT_CHANGELIST = reverse("admin:tenants_tenant_changelist")
TENANT_ADD = reverse("admin:tenants_tenant_add")
MEMBERSHIP_CHANGELIST = reverse("admin:tenants_membership_changelist")


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def test_superuser_sees_every_tenant(superuser_client, tenant, other_tenant):
    response = superuser_client.get(TENANT_CHANGELIST)

    assert response.status_code == 200
    assert {t.name for t in listed(response)} == {"Acme Repairs", "Globex"}


def test_superuser_sees_memberships_of_every_tenant(superuser_client, owner, member, outsider):
    response = superuser_client.get(MEMBERSHIP_CHANGELIST)

    assert response.status_code == 200
    assert {m.user.username for m in listed(response)} == {"owner", "member", "outsider"}


def test_tenant_admin_sees_only_their_tenants(owner_client, tenant, other_tenant):
    response = owner_client.get(TENANT_CHANGELIST)

    assert response.status_code == 200
    assert listed(response) == [tenant]
    assert "Globex" not in response.text


def test_tenant_admin_cannot_open_another_tenant(owner_client, other_tenant):
    response = owner_client.get(reverse("admin:tenants_tenant_change", args=[other_tenant.pk]))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_tenant_admin_sees_only_memberships_of_their_tenants(owner_client, member, outsider):
    response = owner_client.get(MEMBERSHIP_CHANGELIST)

    assert response.status_code == 200
    assert {m.user.username for m in listed(response)} == {"owner", "member"}
    assert "outsider" not in response.text
    assert "Globex" not in response.text


def test_membership_add_form_offers_only_the_users_tenants_and_members(owner_client, member, outsider):
    response = owner_client.get(reverse("admin:tenants_membership_add"))

    fields = response.context["adminform"].form.fields
    assert [str(t) for t in fields["tenant"].queryset] == ["Acme Repairs"]
    assert sorted(u.username for u in fields["user"].queryset) == ["member", "owner"]
    assert "outsider" not in response.text


def test_tenant_admin_cannot_add_a_membership_to_another_tenant(owner_client, member, other_tenant):
    response = owner_client.post(
        reverse("admin:tenants_membership_add"),
        {"user": member.pk, "tenant": other_tenant.pk, "role": Membership.Role.ADMIN},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.context["adminform"].form.errors["tenant"][0]
    assert not Membership.objects.filter(tenant=other_tenant, user=member).exists()


def test_tenant_admin_cannot_add_tenants(owner_client):
    response = owner_client.post(TENANT_ADD, {"name": "Sneaky", "slug": "sneaky", "is_active": "on"})

    assert response.status_code == 403
    assert not Tenant.objects.filter(slug="sneaky").exists()


def test_tenant_admin_cannot_delete_their_tenant(owner_client, tenant):
    response = owner_client.post(reverse("admin:tenants_tenant_delete", args=[tenant.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_superuser_can_add_tenants(superuser_client):
    response = superuser_client.post(
        TENANT_ADD,
        {
            "name": "Initech",
            "slug": "initech",
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    assert Tenant.objects.filter(slug="initech").exists()


def test_member_without_model_permissions_cannot_open_the_tenant_admin(member):
    client = logged_in(staff(member))

    assert client.get(TENANT_CHANGELIST).status_code == 403
    assert client.get(MEMBERSHIP_CHANGELIST).status_code == 403
