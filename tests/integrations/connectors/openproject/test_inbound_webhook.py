"""POST /webhooks/openproject/<uuid>/: a signed `work_package:updated` sets the linked work
item's status; anything unsigned, oversized, malformed or unknown changes nothing."""

import json
import logging

import pytest
from django.test import RequestFactory, override_settings

from integrations.inbound.views import integration_webhook
from integrations.models import IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.integrations.connectors.openproject.inbound_fixtures import (
    SECRET,
    sign,
    signed_post,
    webhook_url,
    work_package_event,
)
from workitems.models import WorkItem, WorkItemNote


@pytest.fixture
def workitem(tenant, openproject):
    item = WorkItemFactory(tenant=tenant, description="Cracked screen")
    openproject.links.create(content_object=item, external_id="12")
    return item


def status_of(workitem: WorkItem) -> str:
    workitem.refresh_from_db()
    return workitem.status


def system_notes(workitem: WorkItem) -> list[str]:
    return list(WorkItemNote.objects.filter(workitem=workitem, kind="system").values_list("body", flat=True))


def test_a_signed_status_change_updates_the_work_item(client, openproject, workitem):
    response = signed_post(client, openproject, work_package_event(12, "Closed"))

    assert (response.status_code, response.json()) == (200, {"result": "updated"})
    assert status_of(workitem) == "Closed"


def test_the_change_is_written_down_as_a_system_note(client, openproject, workitem):
    signed_post(client, openproject, work_package_event(12, "In progress"))

    assert system_notes(workitem) == [
        "Status changed to In Progress in OpenProject (work package #12, status 'In progress', via webhook)."
    ]


def test_the_status_is_read_from_the_embedded_status_when_the_link_has_no_title(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    del event["work_package"]["_links"]["status"]["title"]

    response = signed_post(client, openproject, event)

    assert response.json() == {"result": "updated"}
    assert status_of(workitem) == "Closed"


def test_the_same_status_again_is_unchanged_and_writes_no_note(client, openproject, workitem):
    signed_post(client, openproject, work_package_event(12, "Closed", lock_version=4))

    response = signed_post(client, openproject, work_package_event(12, "Closed", lock_version=5))

    assert (response.status_code, response.json()) == (200, {"result": "unchanged"})
    assert len(system_notes(workitem)) == 1


def test_an_unmapped_status_is_answered_and_changes_nothing(client, openproject, workitem):
    response = signed_post(client, openproject, work_package_event(12, "On hold"))

    assert (response.status_code, response.json()) == (200, {"result": "unmapped"})
    assert (status_of(workitem), system_notes(workitem)) == ("New", [])


def test_a_work_package_we_never_linked_is_unknown(client, openproject, workitem):
    response = signed_post(client, openproject, work_package_event(999, "Closed"))

    assert (response.status_code, response.json()) == (200, {"result": "unlinked"})
    assert status_of(workitem) == "New"


def test_a_link_of_another_openproject_integration_is_not_followed(client, tenant, openproject):
    other = TenantIntegrationFactory(tenant=tenant, name="Other OpenProject", integration_type="openproject")
    item = WorkItemFactory(tenant=tenant)
    other.links.create(content_object=item, external_id="12")

    response = signed_post(client, openproject, work_package_event(12, "Closed"))

    assert response.json() == {"result": "unlinked"}
    assert status_of(item) == "New"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign(b"something else"), id="signature-of-another-body"),
        pytest.param(None, id="other-secret"),
        pytest.param("", id="empty"),
        pytest.param("sha256=" + "0" * 64, id="other-algorithm"),
        pytest.param("sha1=xyz", id="not-hex"),
    ],
)
def test_a_bad_signature_is_401_and_changes_nothing(client, openproject, workitem, signature):
    body = json.dumps(work_package_event(12, "Closed")).encode()
    signature = sign(body, secret="not-the-secret") if signature is None else signature

    response = signed_post(client, openproject, body, signature=signature)

    assert response.status_code == 401
    assert (status_of(workitem), system_notes(workitem)) == ("New", [])
    assert not IntegrationSync.objects.filter(event__event_type="workitem_status_changed").exists()


def test_a_missing_signature_header_is_401(client, openproject, workitem):
    body = json.dumps(work_package_event(12, "Closed")).encode()

    response = client.post(webhook_url(openproject), data=body, content_type="application/json")

    assert response.status_code == 401
    assert status_of(workitem) == "New"


def test_the_signature_covers_the_raw_bytes_not_the_parsed_json(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    signed_compact = sign(json.dumps(event, separators=(",", ":")).encode())

    response = signed_post(client, openproject, json.dumps(event, indent=2).encode(), signature=signed_compact)

    assert response.status_code == 401
    assert status_of(workitem) == "New"


def test_the_hex_digest_may_be_upper_case(client, openproject, workitem):
    body = json.dumps(work_package_event(12, "Closed")).encode()

    response = signed_post(client, openproject, body, signature="sha1=" + sign(body).removeprefix("sha1=").upper())

    assert response.status_code == 200


def test_without_a_webhook_secret_nothing_is_accepted(client, tenant, workitem, openproject):
    openproject.secrets = {k: v for k, v in openproject.secrets.items() if k != "webhook_secret"}
    openproject.save()
    body = json.dumps(work_package_event(12, "Closed")).encode()

    response = signed_post(client, openproject, body, signature=sign(body, secret=""))

    assert response.status_code == 401
    assert status_of(workitem) == "New"


def test_an_unknown_integration_is_404(client, openproject, workitem):
    openproject.uuid = "00000000-0000-4000-8000-000000000000"

    response = signed_post(client, openproject, work_package_event(12, "Closed"))

    assert response.status_code == 404


def test_an_inactive_integration_is_404(client, openproject, workitem):
    openproject.is_active = False
    openproject.save()

    response = signed_post(client, openproject, work_package_event(12, "Closed"))

    assert response.status_code == 404
    assert status_of(workitem) == "New"


def test_the_uuid_of_another_kind_of_integration_is_404(client, tenant):
    webhook = TenantIntegrationFactory(tenant=tenant, secrets={"webhook_secret": SECRET})

    response = signed_post(client, webhook, work_package_event(12, "Closed"))

    assert response.status_code == 404


@override_settings(INBOUND_MAX_BODY_BYTES=2048)
def test_a_body_over_the_limit_is_413_and_changes_nothing(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    event["work_package"]["description"] = {"raw": "x" * 2048}

    response = signed_post(client, openproject, event)

    assert response.status_code == 413
    assert status_of(workitem) == "New"


class Unreadable:
    """A request stream that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@override_settings(INBOUND_MAX_BODY_BYTES=2048)
def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(openproject):
    environ = {"CONTENT_LENGTH": "10000000", "CONTENT_TYPE": "application/json", "wsgi.input": Unreadable()}
    request = RequestFactory().generic("POST", webhook_url(openproject), **environ)

    response = integration_webhook(request, kind="openproject", integration_uuid=openproject.uuid)

    assert response.status_code == 413


@override_settings(INBOUND_MAX_BODY_BYTES=2048)
def test_a_body_of_exactly_the_limit_is_accepted(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    event["work_package"]["description"] = {"raw": ""}
    padding = 2048 - len(json.dumps(event).encode())
    event["work_package"]["description"]["raw"] = "x" * padding
    body = json.dumps(event).encode()
    assert len(body) == 2048

    response = signed_post(client, openproject, body)

    assert response.status_code == 200


def test_a_signed_body_that_is_not_json_is_400(client, openproject, workitem):
    response = signed_post(client, openproject, b"{not json")

    assert response.status_code == 400
    assert status_of(workitem) == "New"


def test_an_update_without_a_status_is_400(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    del event["work_package"]["_links"]["status"]
    del event["work_package"]["_embedded"]

    response = signed_post(client, openproject, event)

    assert response.status_code == 400
    assert status_of(workitem) == "New"


@pytest.mark.parametrize("action", ["work_package:created", "project:updated", None])
def test_other_actions_are_accepted_and_ignored(client, openproject, workitem, action):
    event = work_package_event(12, "Closed", action=action)

    response = signed_post(client, openproject, event)

    assert (response.status_code, response.json()) == (202, {"result": "ignored"})
    assert status_of(workitem) == "New"


def test_only_post_is_allowed(client, openproject):
    assert client.get(webhook_url(openproject)).status_code == 405


def test_each_call_is_logged_on_one_line_without_secrets(client, openproject, workitem, caplog):
    body = json.dumps(work_package_event(12, "Closed")).encode()
    caplog.set_level(logging.INFO, logger="integrations.inbound")

    signed_post(client, openproject, body)
    signed_post(client, openproject, body, signature="sha1=" + "0" * 40)

    lines = [record.getMessage() for record in caplog.records if record.name == "integrations.inbound"]
    assert len(lines) == 2
    assert f"integration={openproject.pk} status=200 result=updated" in lines[0]
    assert f"integration={openproject.pk} status=401" in lines[1]
    assert not any(SECRET in line or sign(body) in line for line in lines)


def test_a_replayed_older_update_is_stale_and_cannot_turn_the_status_back(client, openproject, workitem):
    older = work_package_event(12, "In progress", lock_version=4)
    signed_post(client, openproject, older)
    signed_post(client, openproject, work_package_event(12, "Closed", lock_version=6))

    response = signed_post(client, openproject, older)

    assert (response.status_code, response.json()) == (200, {"result": "stale"})
    assert status_of(workitem) == "Closed"


def test_the_same_update_delivered_twice_is_applied_once(client, openproject, workitem):
    event = work_package_event(12, "Closed", lock_version=7)

    first, second = signed_post(client, openproject, event), signed_post(client, openproject, event)

    assert (first.json(), second.json()) == ({"result": "updated"}, {"result": "stale"})
    assert len(system_notes(workitem)) == 1


def test_an_update_without_a_lock_version_is_still_applied(client, openproject, workitem):
    event = work_package_event(12, "Closed")
    del event["work_package"]["lockVersion"]

    response = signed_post(client, openproject, event)

    assert response.json() == {"result": "updated"}
