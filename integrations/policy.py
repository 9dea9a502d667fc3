"""Retry schedule and secret scrubbing: small pure functions the engine applies."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable
from typing import Any

MAX_BACKOFF_SECONDS = 24 * 3600
MAX_RETRY_AFTER_SECONDS = 24 * 3600
REDACTED = "[redacted]"


def retry_delay_seconds(
    *, attempt: int, base_seconds: float, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Delay before retry number `attempt` (1 = first retry): exponential backoff with full jitter.

    The delay is uniform in [0, base × 2^(attempt-1)] (capped at a day), and never shorter
    than a receiver's Retry-After.
    """
    window = min(MAX_BACKOFF_SECONDS, base_seconds * 2 ** (attempt - 1))
    delay = (rng or random).uniform(0, window)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def secret_strings(secrets: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    """Every string that must never appear in a log, an error or an excerpt."""
    values: list[str] = []
    for value in secrets.values():
        if isinstance(value, dict):
            values.extend(str(v) for v in value.values())
        elif value:
            values.append(str(value))
    user = (config or {}).get("basic_username")
    if user and secrets.get("basic_password"):
        values.append(base64.b64encode(f"{user}:{secrets['basic_password']}".encode()).decode())
    return [v for v in values if len(v) >= 4]


def scrub(text: str, secrets: Iterable[str], *, cut: bool = False) -> str:
    """The text with every secret value replaced (longest first, so no partial leaks). With
    `cut` (an excerpt cut at a length limit), a secret cut off at the very end is replaced too."""
    ordered = sorted(set(secrets), key=len, reverse=True)
    for secret in ordered:
        text = text.replace(secret, REDACTED)
    if cut:
        for secret in ordered:
            for length in range(len(secret) - 1, 3, -1):
                if text.endswith(secret[:length]):
                    return text[:-length] + REDACTED
    return text
