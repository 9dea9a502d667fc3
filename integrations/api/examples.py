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
