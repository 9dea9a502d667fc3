"""POST /webhooks/zulip/<uuid>/: a person mentions the outgoing-webhook bot with a reference and
a status; the call's token is checked, the work item of the integration's own tenant changes
(heard by the tenant's other integrations, not echoed to Zulip), and the answer is the bot's
reply. A wrong token, another tenant's reference or an unknown status changes nothing."""

import json

import pytest
from django.conf import settings
from django.test import override_settings

from integrations.models import EventType, IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.fakes.zulip import API_KEY, OUTGOING_TOKEN, outgoing_webhook_call
from workitems.models import WorkItem, WorkItemNote


@pytest.fixture
def zulip(zulip_integration) -> TenantIntegration:
    zulip_integration.secrets = {"api_key": API_KEY, "outgoing_webhook_token": OUTGOING_TOKEN}
    zulip_integration.save()
    return zulip_integration


@pytest.fixture
def workitem(tenant) -> WorkItem:
    return WorkItemFactory(tenant=tenant, description="Cracked screen")


def mention(client, integration, data: str, *, token: str = OUTGOING_TOKEN, **message):
    body = outgoing_webhook_call(data, token=token, **message)
    return client.post(f"/webhooks/zulip/{integration.uuid}/", data=json.dumps(body), content_type="application/json")


def status_of(workitem: WorkItem) -> str:
    workitem.refresh_from_db()
    return workitem.status


def system_notes(workitem: WorkItem) -> list[str]:
    return list(WorkItemNote.objects.filter(workitem=workitem, kind="system").values_list("body", flat=True))


def status_syncs(integration: TenantIntegration) -> int:
    return IntegrationSync.objects.filter(
        integration=integration, event__event_type=EventType.WORKITEM_STATUS_CHANGED
    ).count()


def test_a_command_with_the_right_token_changes_the_status_and_replies(client, zulip, workitem):
    response = mention(client, zulip, f"@**Fieldhook** {workitem.reference_id} status Ready for Pickup")

    assert response.status_code == 200
    url = f"{settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/{workitem.pk}/change/"
    assert response.json() == {
        "content": f"✅ **{workitem.reference_id}** is now **Ready for Pickup** (was New). "
        f"[Open {workitem.reference_id} in Fieldhook]({url})"
    }
    assert status_of(workitem) == "Ready for Pickup"


def test_the_change_is_noted_with_who_asked_in_zulip(client, zulip, workitem):
    mention(client, zulip, f"@**Fieldhook** {workitem.reference_id} ready", sender_full_name="Ana  Silva")

    assert system_notes(workitem) == [
        "Status changed from New to Ready for Pickup in Zulip, as Ana Silva (ana@example.com) asked there."
    ]


def test_a_wrong_token_is_refused_and_changes_nothing(client, zulip, workitem):
    response = mention(client, zulip, f"{workitem.reference_id} status Closed", token="outgoing-token-7c1f")

    assert (response.status_code, response.json()) == (401, {"error": "Invalid signature."})
    assert status_of(workitem) == "New"
    assert system_notes(workitem) == []


def test_without_a_configured_token_every_call_is_refused(client, zulip_integration, workitem):
    response = mention(client, zulip_integration, f"{workitem.reference_id} status Closed")

    assert response.status_code == 401
    assert status_of(workitem) == "New"


def test_a_body_that_is_not_json_is_refused_as_unverified(client, zulip, workitem):
    response = client.post(f"/webhooks/zulip/{zulip.uuid}/", data=f"token={OUTGOING_TOKEN}", content_type="text/plain")

    assert response.status_code == 401


@override_settings(INBOUND_MAX_BODY_BYTES=200)
def test_an_oversized_body_is_refused_before_its_token_is_read(client, zulip, workitem):
    response = mention(client, zulip, f"{workitem.reference_id} status Closed " + "x" * 300)

    assert response.status_code == 413
    assert status_of(workitem) == "New"


def test_an_unknown_reference_is_explained(client, zulip, workitem):
    response = mention(client, zulip, "@**Fieldhook** RMA-999 status Closed")

    assert response.status_code == 200
    assert response.json()["content"].startswith("I found no work item **RMA-999**.")
    assert status_of(workitem) == "New"


def test_another_tenants_reference_is_unknown_and_its_work_item_unchanged(client, zulip, workitem, other_tenant):
    WorkItemFactory(tenant=other_tenant)
    theirs = WorkItemFactory(tenant=other_tenant)
    assert theirs.reference_id != workitem.reference_id  # RMA-2 exists only at the other tenant

    response = mention(client, zulip, f"@**Fieldhook** {theirs.reference_id} status Closed")

    assert response.json()["content"].startswith(f"I found no work item **{theirs.reference_id}**.")
    assert status_of(theirs) == "New"
    assert system_notes(theirs) == []


def test_a_reference_both_tenants_have_changes_only_the_integrations_tenants(client, zulip, tenant, other_tenant):
    theirs = WorkItemFactory(tenant=other_tenant)  # the older of the two RMA-1s
    ours = WorkItemFactory(tenant=tenant)
    assert theirs.reference_id == ours.reference_id

    mention(client, zulip, f"@**Fieldhook** {ours.reference_id} status Closed")

    assert (status_of(ours), status_of(theirs)) == ("Closed", "New")


def test_an_unknown_status_is_explained_and_changes_nothing(client, zulip, workitem):
    response = mention(client, zulip, f"@**Fieldhook** {workitem.reference_id} status Shipped")

    assert response.json() == {
        "content": "**Shipped** is not a status I know. Use one of: New, In Progress, Awaiting Parts, "
        "Ready for Pickup, Closed, Cancelled."
    }
    assert status_of(workitem) == "New"
    assert system_notes(workitem) == []


def test_the_same_status_again_says_nothing_changed(client, zulip, workitem):
    response = mention(client, zulip, f"@**Fieldhook** {workitem.reference_id} status new")

    assert response.json() == {"content": f"**{workitem.reference_id}** is already **New**: nothing changed."}
    assert system_notes(workitem) == []


def test_help_is_answered_with_how_to_write_a_command(client, zulip, workitem):
    response = mention(client, zulip, "@**Fieldhook** help")

    assert response.status_code == 202
    content = response.json()["content"]
    assert content.startswith("I change the status of a work item.")
    assert "`@**Fieldhook** RMA-123 status Ready for Pickup`" in content


def test_a_message_without_a_reference_gets_the_help(client, zulip, workitem):
    response = mention(client, zulip, "@**Fieldhook** close the last one")

    assert response.json()["content"].startswith("I did not understand “close the last one”.")
    assert status_of(workitem) == "New"


def test_a_call_in_slacks_format_is_refused_with_an_explanation(client, zulip, workitem):
    body = {"token": OUTGOING_TOKEN, "text": f"{workitem.reference_id} status Closed"}

    response = client.post(f"/webhooks/zulip/{zulip.uuid}/", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "choose the Zulip format" in response.json()["error"]


def test_the_change_is_not_echoed_to_zulip_but_other_integrations_hear_it(client, zulip, workitem):
    n8n = TenantIntegrationFactory(tenant=workitem.tenant, name="n8n")

    mention(client, zulip, f"@**Fieldhook** {workitem.reference_id} status In Progress")

    assert status_of(workitem) == "In Progress"
    assert status_syncs(zulip) == 0
    assert status_syncs(n8n) == 1
