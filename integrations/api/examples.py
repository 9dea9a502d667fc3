"""Examples of the integrations API in the OpenAPI schema (the same calls as docs/api.md)."""

from drf_spectacular.utils import OpenApiExample

WEBHOOK_CREATE = OpenApiExample(
    "A signed webhook to n8n",
    request_only=True,
    value={
        "kind": "webhook",
        "name": "n8n production",
        "events": ["workitem_created", "workitem_status_changed"],
        "config": {"url": "https://n8n.example.com/webhook/fieldhook", "sign": True},
        "secrets": {"headers": {"X-API-Key": "a-long-random-value"}},
        "backfill": True,
    },
)
WEBHOOK_CREATED = OpenApiExample(
    "Created, with the generated signing secret (shown once)",
    response_only=True,
    status_codes=["201"],
    value={
        "id": 3,
        "uuid": "5b0f2c8e-1d7a-4c3b-9e2f-6a8d4b1c0e97",
        "kind": "webhook",
        "name": "n8n production",
        "events": ["workitem_created", "workitem_status_changed"],
        "active": True,
        "config": {"url": "https://n8n.example.com/webhook/fieldhook", "sign": True, "basic_username": ""},
        "secrets_set": ["headers", "signing_secret"],
        "max_attempts": 8,
        "retry_backoff_seconds": 600.0,
        "rate_limit_per_second": None,
        "paused_reason": "",
        "failing_since": None,
        "created_at": "2026-11-24T09:00:00Z",
        "updated_at": "2026-11-24T09:00:00Z",
        "generated_secrets": {"signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    },
)
WEBHOOK_PATCH = OpenApiExample(
    "Another receiver URL (secrets left out are kept unless the host changes)",
    request_only=True,
    value={"config": {"url": "https://n8n.example.com/webhook/fieldhook-v2"}},
)
CONNECTION_TESTED = OpenApiExample(
    "Reachable",
    response_only=True,
    value={
        "ok": True,
        "message": "Reachable: the receiver answered HTTP 200 to a HEAD request. Use 'Send test event' to check "
        "a real delivery.",
    },
)
SECRET_ROTATED = OpenApiExample(
    "The new secret", response_only=True, value={"signing_secret": "whsec_Jg7k2Q0V9tXb4cN1sR8mE5yA3uL6pH0d"}
)
SYNC_SELECTIONS = [
    OpenApiExample("By id", request_only=True, value={"ids": [41, 42]}),
    OpenApiExample(
        "Every failed sync of one integration since a date",
        request_only=True,
        value={"filter": {"status": ["failed"], "integration": 3, "created_after": "2026-11-01T00:00:00Z"}},
    ),
    OpenApiExample("Queued", response_only=True, value={"queued": 2}),
]
SYNC_NOW = OpenApiExample("To integration 3", request_only=True, value={"integration": 3})
SYNC_DETAIL = OpenApiExample(
    "A synced creation",
    response_only=True,
    value={
        "id": 41,
        "integration": {"id": 3, "name": "n8n production", "integration_type": "webhook"},
        "event_type": "workitem_created",
        "event_id": "6f1c0c9e-5a55-4a53-a3a5-1d8f4e7f7a10",
        "status": "synced",
        "attempts": 2,
        "next_attempt_at": "2026-11-24T09:00:12Z",
        "last_error": "",
        "last_status_code": 204,
        "external_id": "",
        "external_url": "",
        "created_at": "2026-11-24T09:00:00Z",
        "synced_at": "2026-11-24T09:00:13Z",
        "workitem": 123,
        "attempt_log": [
            {
                "number": 1,
                "started_at": "2026-11-24T09:00:01Z",
                "duration_ms": 5003,
                "succeeded": False,
                "status_code": 503,
                "error_class": "http_5xx",
                "error": "The receiver failed with HTTP 503.",
                "response_excerpt": "",
            },
            {
                "number": 2,
                "started_at": "2026-11-24T09:00:12Z",
                "duration_ms": 41,
                "succeeded": True,
                "status_code": 204,
                "error_class": "",
                "error": "",
                "response_excerpt": "",
            },
        ],
        "payload": {"schema_version": "1.0", "event_type": "workitem_created", "…": "see docs/events.md"},
    },
)
PACKAGE_TEMPLATE_CREATE = OpenApiExample(
    "A repair with its three steps as sub-tasks",
    request_only=True,
    value={
        "name": "Laptop repair",
        "parent_issue_type": "Task",
        "parent_summary": "{reference_id}: {description}",
        "parent_description": "Repair for {customer}, device {asset}. Due {due_date}.",
        "child_issue_type": "Sub-task",
        "elements": [
            {"summary": "Diagnose {reference_id}", "description": "Find the fault and estimate the cost."},
            {"summary": "Order parts", "description": ""},
            {"summary": "Repair and test", "description": "Run the burn-in test before closing."},
        ],
    },
)
PACKAGE_TEMPLATE_CREATED = OpenApiExample(
    "Created",
    response_only=True,
    status_codes=["201"],
    value={
        "id": 4,
        "name": "Laptop repair",
        "parent_issue_type": "Task",
        "parent_summary": "{reference_id}: {description}",
        "parent_description": "Repair for {customer}, device {asset}. Due {due_date}.",
        "child_issue_type": "Sub-task",
        "elements": [
            {"id": 11, "position": 1, "summary": "Diagnose {reference_id}", "description": "Find the fault and "
             "estimate the cost."},
            {"id": 12, "position": 2, "summary": "Order parts", "description": ""},
            {"id": 13, "position": 3, "summary": "Repair and test", "description": "Run the burn-in test before "
             "closing."},
        ],
        "created_at": "2026-11-24T09:00:00Z",
        "updated_at": "2026-11-24T09:00:00Z",
    },
)  # fmt: skip
PACKAGE_TEMPLATE_PATCH = OpenApiExample(
    "Reorder: keep 13 and 11 (by id), drop 12, add one at the end",
    request_only=True,
    value={"elements": [{"id": 13, "summary": "Repair and test"}, {"id": 11, "summary": "Diagnose {reference_id}"},
                        {"summary": "Call the customer"}]},
)  # fmt: skip
PACKAGE_START = OpenApiExample(
    "On two Jira sites, the second with two of the children",
    request_only=True,
    value={
        "template": 4,
        "targets": [
            {"integration": 7, "project_key": "SVC"},
            {"integration": 8, "project_key": "OPS", "elements": [11, 13]},
        ],
    },
)
_RUN = {
    "id": 21,
    "url": "https://fieldhook.example.com/api/v1/package-runs/21/",
    "workitem": 123,
    "template": 4,
    "template_name": "Laptop repair",
    "integration": {"id": 7, "name": "Jira EU", "integration_type": "jira"},
    "project_key": "SVC",
    "status": "queued",
    "error": "",
    "created": 0,
    "total": 4,
    "parent_key": "",
    "parent_url": "",
    "children": [
        {"element": 11, "summary": "Diagnose RMA-42", "key": "", "url": "", "linked": False, "error": ""},
        {"element": 12, "summary": "Order parts", "key": "", "url": "", "linked": False, "error": ""},
        {"element": 13, "summary": "Repair and test", "key": "", "url": "", "linked": False, "error": ""},
    ],
    "tries": 0,
    "created_at": "2026-11-24T09:00:00Z",
    "started_at": None,
    "finished_at": None,
    "updated_at": "2026-11-24T09:00:00Z",
}
PACKAGE_STARTED = OpenApiExample(
    "Queued (one run per target)", response_only=True, status_codes=["202"], value={"runs": [_RUN]}
)
PACKAGE_RUN_PARTIAL = OpenApiExample(
    "Stopped half-way (resume it to create the rest)",
    response_only=True,
    value={
        **_RUN,
        "status": "partial",
        "error": "Jira answered HTTP 503: Service unavailable.",
        "created": 2,
        "parent_key": "SVC-101",
        "parent_url": "https://acme.atlassian.net/browse/SVC-101",
        "children": [
            {"element": 11, "summary": "Diagnose RMA-42", "key": "SVC-102",
             "url": "https://acme.atlassian.net/browse/SVC-102", "linked": True, "error": ""},
            {"element": 12, "summary": "Order parts", "key": "", "url": "", "linked": False, "error": ""},
            {"element": 13, "summary": "Repair and test", "key": "", "url": "", "linked": False, "error": ""},
        ],
        "tries": 1,
        "started_at": "2026-11-24T09:00:01Z",
        "finished_at": "2026-11-24T09:00:03Z",
        "updated_at": "2026-11-24T09:00:03Z",
    },
)  # fmt: skip
