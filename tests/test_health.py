"""/healthz answers 200 when PostgreSQL and the broker answer, 503 naming the one that does not.

Outages are real: the dependency is pointed at a local port nobody listens on.
"""

import socket

import pytest
from django.db import connection

HEALTHZ = "/healthz"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """Celery reads CELERY_BROKER_URL from the environment before its own config, at connection time."""
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")


@pytest.fixture
def database_down(transactional_db):
    """Reconnects the default connection to a closed port, then back to the test database."""
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original_port
        connection.ensure_connection()


def test_healthz_is_ok_when_database_and_broker_answer(client, db):
    response = client.get(HEALTHZ)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert isinstance(body["checks"]["broker"]["ms"], float)


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, db, broker_down):
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_naming_the_database_when_it_is_down(client, database_down):
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["broker"]["ok"] is True
