"""What the connector contract suite needs to drive the Zulip kind."""

from tests.fakes.zulip import API_KEY, BOT_EMAIL, CHANNEL, OUTGOING_TOKEN, SITE_URL

BASE_URL = SITE_URL
SETTINGS = {
    "site_url": SITE_URL,
    "bot_email": BOT_EMAIL,
    "api_key": API_KEY,
    "channel": CHANNEL,
    "topic_template": "{reference_id}: {description}",
    "create_channel": "on",
    "outgoing_webhook_token": OUTGOING_TOKEN,
}
SECRET_VALUES = [API_KEY, OUTGOING_TOKEN]
