"""The embedded mode (SQLite, no Redis) delivers too: the claim takes the portable path, the
resilience state lives in the process. Run in a fresh interpreter on a SQLite file of its own,
against a real local receiver."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import django, sys
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tenants.models import Tenant
from integrations.models import TenantIntegration, IntegrationSync
from integrations.engine import delivery
from workitems.services import workitem_create, workitem_update
tenant = Tenant.objects.create(name="Embedded", slug="embedded")
TenantIntegration.objects.create(tenant=tenant, name="Receiver", integration_type="webhook",
    event_types=["workitem_created", "workitem_status_changed"], config={"url": sys.argv[1]})
items = [workitem_create(tenant=tenant, description=f"item {n}") for n in range(3)]
workitem_update(workitem=items[0], status="Closed")
delivery.syncs_drain()
print(sorted(IntegrationSync.objects.values_list("status", flat=True)))
"""


@pytest.fixture
def receiver():
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    server.shutdown()


def test_the_embedded_mode_delivers_every_event_in_order(receiver, tmp_path):
    url, bodies = receiver
    environment = {
        "PATH": os.environ["PATH"],
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
    }

    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(["synced"] * 4)
    first_item = [body["event_type"] for body in bodies if body["workitem"]["reference_id"] == "RMA-1"]
    assert first_item == ["workitem_created", "workitem_status_changed"]
