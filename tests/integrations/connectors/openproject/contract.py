"""What the connector contract suite needs to drive the OpenProject kind."""

from tests.fakes.openproject import API_KEY, BASE_URL

SETTINGS = {
    "base_url": BASE_URL,
    "project": "3",
    "type_id": "1",
    "auth_method": "api_key_basic",
    "api_key": API_KEY,
    "status_map-0-key": "New",
    "status_map-0-value": "New",
    "status_map-1-key": "Closed",
    "status_map-1-value": "Closed",
    "custom_fields": "{}",
    "assignee_map": "{}",
    "poll_enabled": "on",
    "poll_interval_seconds": "300",
    "webhook_secret": "contract-webhook-secret-77aa",
}
SECRET_VALUES = [API_KEY, "contract-webhook-secret-77aa"]
