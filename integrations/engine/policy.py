"""Retry schedule and secret scrubbing: small pure functions the engine applies."""

from __future__ import annotations

import base64
import html
import json
import random
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from django.conf import settings

MAX_BACKOFF_SECONDS = 24 * 3600
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4  # shorter values would redact ordinary words
# Runs of the standard or URL-safe base64 alphabet long enough to encode a secret.
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{6,}=*")
URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def retry_delay_seconds(
    *, attempt: int, base_seconds: float, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Delay before retry number `attempt` (1 = first retry): exponential backoff with full jitter.

    The delay is uniform in [0, base × 2^(attempt-1)] (capped at a day), and never shorter
    than a receiver's Retry-After (itself capped at HTTP_RETRY_AFTER_MAX_SECONDS).
    """
    window = min(MAX_BACKOFF_SECONDS, base_seconds * 2 ** (attempt - 1))
    delay = (rng or random).uniform(0, window)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.HTTP_RETRY_AFTER_MAX_SECONDS))
    return delay


def secret_strings(secrets: dict[str, Any]) -> list[str]:
    """Every string that must never appear in a log, an error or an excerpt: each secret
    value and the forms it travels in (URL-encoded, JSON-escaped, HTML-escaped). Base64 of
    a value — alone or combined, as in Basic `apikey:<key>` — is caught by `scrub` itself."""
    values: list[str] = []
    for value in secrets.values():
        if isinstance(value, dict):
            values.extend(str(v) for v in value.values())
        elif value:
            values.append(str(value))
    encoded = {form for value in values for form in _encodings(value)}
    return [v for v in encoded if len(v) >= MIN_SECRET_CHARS]


def _encodings(value: str) -> set[str]:
    return {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }


def scrub(text: str, secrets: Iterable[str], *, cut: bool = False) -> str:
    """The text with every secret value replaced (longest first, so no partial leaks), and
    every base64 run that decodes to something containing a secret. With `cut` (an excerpt
    cut at a length limit), a secret cut off at the very end is replaced too."""
    ordered = sorted(set(secrets), key=len, reverse=True)
    for secret in ordered:
        text = text.replace(secret, REDACTED)
    text = _scrub_base64(text, ordered, cut=cut)
    if cut:
        for secret in ordered:
            for length in range(len(secret) - 1, MIN_SECRET_CHARS - 1, -1):
                if text.endswith(secret[:length]):
                    return text[:-length] + REDACTED
    return text


def _scrub_base64(text: str, secrets: list[str], *, cut: bool) -> str:
    wanted = [secret.encode() for secret in secrets]

    def replace(match: re.Match) -> str:
        at_end = cut and match.end() == len(text)
        return REDACTED if _decodes_to_secret(match.group(), wanted, at_end=at_end) else match.group()

    return BASE64_RUN.sub(replace, text) if wanted else text


def _decodes_to_secret(run: str, wanted: list[bytes], *, at_end: bool) -> bool:
    """Whether the run, decoded from any of the four alignments it may start at (it may be
    glued to other characters), contains a secret — or, cut off at the end, begins one."""
    run = run.rstrip("=").translate(URLSAFE_TO_STANDARD)
    for offset in range(4):
        chunk = run[offset:]
        chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk
        decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4))
        if any(secret in decoded for secret in wanted):
            return True
        if at_end and any(
            decoded.endswith(secret[:length])
            for secret in wanted
            for length in range(len(secret) - 1, MIN_SECRET_CHARS - 1, -1)
        ):
            return True
    return False
