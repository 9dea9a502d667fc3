"""What a server refuses to start with: weak signing keys and missing or malformed encryption keys.

Called from app/settings.py, so a bad deployment fails at start with a message that says
how to fix it, instead of running with forgeable sessions or unreadable secrets.
"""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

# The same as Django's check (security.W009): long and varied enough to resist guessing.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
# Stands in for SECRET_KEY with DEBUG on only.
DEV_SECRET_KEY = "insecure-dev-only-key-never-use-in-production"  # noqa: S105 (public on purpose)
# Values from examples and dev defaults: anyone who read them can forge sessions.
PLACEHOLDER_SECRET_KEYS = frozenset({"change-me", "changeme", DEV_SECRET_KEY})
# Shell commands shown in refusals and in the docs (tests run them).
GENERATE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"  # noqa: S105 (a command)
GENERATE_ENCRYPTION_KEY = "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"


def secret_key_check(*, key: str) -> None:
    """Refuse a missing, placeholder or short SECRET_KEY (only called with DEBUG off)."""
    if not key:
        problem = "SECRET_KEY must be set when DEBUG is off."
    elif key in PLACEHOLDER_SECRET_KEYS or key.startswith("django-insecure-"):
        problem = "SECRET_KEY is a placeholder from an example; set a random one."
    elif len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        problem = f"SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters."
    else:
        return
    raise ImproperlyConfigured(f"{problem} Generate one with: {GENERATE_SECRET_KEY}")


def encryption_keys_check(*, keys: list[str], required: bool) -> None:
    """Refuse malformed FIELD_ENCRYPTION_KEYS always, and missing ones when `required` (DEBUG off)."""
    if not keys and required:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off (it encrypts integration secrets). "
            f"Generate a key with: {GENERATE_ENCRYPTION_KEY}"
        )
    for position, key in enumerate(keys, start=1):
        if not _is_fernet_key(key):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 bytes, url-safe base64). "
                f"Generate one with: {GENERATE_ENCRYPTION_KEY}"
            )


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True
