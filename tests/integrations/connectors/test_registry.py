"""The registry of integration kinds is lazy: starting Django (models, admin, URLs, tasks)
imports no connector package until a kind is used."""

import json
import subprocess
import sys
from pathlib import Path

from integrations.connectors import KINDS, registry

ROOT = Path(__file__).resolve().parents[3]
LOADED_AFTER_START = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
import app.urls, integrations.tasks  # what web and worker import before any request or task
kinds = json.loads(sys.argv[1])
print(json.dumps(sorted(kind for kind in kinds if f"integrations.connectors.{kind}" in sys.modules)))
"""


def test_starting_django_imports_no_connector_package():
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER_START, json.dumps(list(KINDS))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_every_registered_path_imports():
    assert {kind: registry.get(kind).kind for kind in KINDS} == {kind: kind for kind in KINDS}
