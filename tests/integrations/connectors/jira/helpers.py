"""Helpers of the Jira inbound tests (poll, webhook): work items linked to issues of the fake
site, and webhook calls signed as Jira signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from integrations.models import ExternalLink, TenantIntegration
from tests.fakes.jira import PROJECT, FakeJira
from tests.integrations.connectors.jira.conftest import WEBHOOK_SECRET
from workitems.models import WorkItem


def linked_work_items(integration: TenantIntegration, fake: FakeJira, count: int) -> list[WorkItem]:
    """`count` work items (status New), each linked to its own issue (To Do, our marker label)."""
    items = WorkItem.objects.bulk_create(
        WorkItem(tenant=integration.tenant, reference_id=f"RMA-{n}", description=f"Repair {n}")
        for n in range(1, count + 1)
    )
    keys = [
        fake.add_issue(
            {
                "project": {"key": PROJECT},
                "issuetype": {"name": "Task"},
                "summary": f"{item.reference_id}: Repair",
                "labels": ["fieldhook"],
            }
        )
        for item in items
    ]
    ExternalLink.objects.bulk_create(
        ExternalLink(integration=integration, content_object=item, external_id=key, base_status="New")
        for item, key in zip(items, keys, strict=True)
    )
    return items


def status_of(item: WorkItem) -> str:
    item.refresh_from_db()
    return item.status


def webhook_url(integration: TenantIntegration) -> str:
    return f"/webhooks/jira/{integration.uuid}/"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_updated(fake: FakeJira, key: str, *, event: str = "jira:issue_updated") -> dict[str, Any]:
    """What Jira POSTs after someone changed the issue's status."""
    return {
        "timestamp": 1764320400000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana Silva"},
        "issue": fake.webhook_issue(key),
        "changelog": {"id": "10100", "items": [{"field": "status", "fieldtype": "jira", "toString": "Done"}]},
    }


def signed_post(client, integration: TenantIntegration, event: dict[str, Any], *, signature: str | None = None):
    body = json.dumps(event).encode()
    headers = {"X-Hub-Signature": sign(body) if signature is None else signature}
    return client.post(webhook_url(integration), data=body, content_type="application/json", headers=headers)
