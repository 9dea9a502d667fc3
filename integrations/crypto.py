"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (the first key encrypts, all decrypt).

Without configured keys, one key is derived from SECRET_KEY so the embedded mode works; with
DEBUG off the settings refuse to start without FIELD_ENCRYPTION_KEYS (docs/operations.md:
generation, rotation, and moving off the derived key).
"""

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class SecretsUnreadable(Exception):
    """Stored secrets cannot be decrypted with any configured key."""


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        keys = [base64.urlsafe_b64encode(hashlib.sha256(f"fieldhook-secrets:{settings.SECRET_KEY}".encode()).digest())]
    return MultiFernet([Fernet(key) for key in keys])


@receiver(setting_changed)
def _forget_keys(setting: str, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY"):
        _fernet.cache_clear()


def secrets_encrypt(values: dict[str, Any]) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def secrets_decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretsUnreadable(
            "Stored secrets cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS."
        ) from exc


def secrets_reencrypt(token: str) -> str:
    """The same secrets encrypted with the newest key (for key rotation)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretsUnreadable(
            "Stored secrets cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS."
        ) from exc
