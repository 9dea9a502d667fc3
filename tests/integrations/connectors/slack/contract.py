"""What the connector contract suite needs to drive the Slack kind (a bot token: every request
goes to the Web API)."""

from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID, CLIENT_ID, CLIENT_SECRET

BASE_URL = "https://slack.com/api"
SETTINGS = {
    "mode": "bot",
    "bot_token": BOT_TOKEN,
    "channel": CHANNEL_ID,
    "api_url": BASE_URL,
    "oauth_client_id": CLIENT_ID,
    "oauth_client_secret": CLIENT_SECRET,
}
SECRET_VALUES = [BOT_TOKEN, CLIENT_SECRET]
