"""What the connector contract suite needs to drive the Jira kind."""

from tests.fakes.jira import API_TOKEN, EMAIL, PROJECT, SITE_URL

WEBHOOK_SECRET = "contract-jira-webhook-secret-31f0"
BASE_URL = SITE_URL
SETTINGS = {
    "site_url": SITE_URL,
    "email": EMAIL,
    "api_token": API_TOKEN,
    "project_key": PROJECT,
    "issue_type": "Task",
    "marker_label": "fieldhook",
    "extra_labels": "repairs",
    "priority_map-0-key": "Urgent",
    "priority_map-0-value": "Highest",
    "send_due_date": "on",
    "reference_field": "customfield_10050",
    "estimated_price_field": "customfield_10060",
    "final_price_field": "",
    "transition_map-0-key": "Closed",
    "transition_map-0-value": "Done",
    "status_map-0-key": "Done",
    "status_map-0-value": "Closed",
    "poll_enabled": "on",
    "poll_interval_seconds": "300",
    "webhook_secret": WEBHOOK_SECRET,
}
SECRET_VALUES = [API_TOKEN, WEBHOOK_SECRET]
