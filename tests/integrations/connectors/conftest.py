"""Fixtures of every connector's tests."""

import pytest

from integrations.connectors import http


@pytest.fixture(autouse=True)
def read_retry_pauses(monkeypatch) -> list[float]:
    """Reads are retried with short jittered pauses (`http.read_retrying`): recorded here instead of slept."""
    pauses: list[float] = []
    monkeypatch.setattr(http, "_sleep", pauses.append)
    return pauses
