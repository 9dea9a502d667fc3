"""What the connector contract suite needs to drive the webhook kind."""

BASE_URL = "https://n8n.example.com"
# A valid admin form for the kind (without the cfg_ prefix); secrets included.
SETTINGS = {
    "url": f"{BASE_URL}/webhook/fieldhook",
    "headers": '{"X-API-Key": "contract-header-secret-81c2"}',
    "basic_username": "fieldhook",
    "basic_password": "contract-basic-password-5d0e",
    "sign": "on",
    "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
SECRET_VALUES = [
    "contract-header-secret-81c2",
    "contract-basic-password-5d0e",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
]
