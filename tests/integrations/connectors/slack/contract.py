"""What the connector contract suite needs to drive the Slack kind (a bot token: every request
goes to the Web API)."""

from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID

BASE_URL = "https://slack.com/api"
SETTINGS = {
    "mode": "bot",
    "bot_token": BOT_TOKEN,
    "channel": CHANNEL_ID,
    "api_url": BASE_URL,
}
SECRET_VALUES = [BOT_TOKEN]
