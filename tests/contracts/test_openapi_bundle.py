"""scripts/openapi_bundle.py: a multi-file spec becomes one file with local references only,
trimmed to the operations asked for, and still a valid OpenAPI document."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "openapi_bundle.py"

ENTRY = """
openapi: 3.1.0
info: {title: Tiny, version: "1"}
paths:
  /things/{id}:
    $ref: ./paths/thing.yml
  /other:
    get: {responses: {"200": {description: OK}}}
components:
  schemas:
    Thing:
      $ref: ./schemas/thing.yml
  responses:
    NotFound:
      $ref: ./responses/not_found.yml
"""
THING_PATH = """
parameters:
  - {name: id, in: path, required: true, schema: {type: integer}}
get:
  responses:
    "200":
      description: OK
      content:
        application/json:
          schema: {$ref: ../schemas/thing.yml}
          example: {id: 1, due: 2026-01-31}
    "404":
      $ref: ../responses/not_found.yml
delete:
  responses: {"204": {description: Gone}}
"""
THING_SCHEMA = """
type: object
required: [id]
properties:
  id: {type: integer}
  description: {type: string, description: a property named like a keyword}
  children: {type: array, items: {$ref: ./thing.yml}}
  owner: {$ref: ./owner.yml}
"""
OWNER_SCHEMA = "type: object\nproperties:\n  name: {type: string}\n"
NOT_FOUND = "description: Not found\ncontent:\n  application/json:\n    schema: {$ref: ../schemas/owner.yml}\n"


@pytest.fixture
def source(tmp_path) -> Path:
    files = {
        "openapi.yml": ENTRY,
        "paths/thing.yml": THING_PATH,
        "schemas/thing.yml": THING_SCHEMA,
        "schemas/owner.yml": OWNER_SCHEMA,
        "responses/not_found.yml": NOT_FOUND,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path / "openapi.yml"


def bundle(source: Path, *args: str) -> dict:
    output = source.parent / "out" / "bundle.json"
    subprocess.run([sys.executable, str(SCRIPT), str(source), str(output), *args], check=True, capture_output=True)
    return json.loads(output.read_text())


def test_it_keeps_only_the_operations_asked_for(source):
    bundled = bundle(source, "GET /things/{id}")

    assert list(bundled["paths"]) == ["/things/{id}"]
    assert sorted(bundled["paths"]["/things/{id}"]) == ["get", "parameters"]
    assert bundled["x-bundle"]["operations"] == ["GET /things/{id}"]


def test_every_reference_is_local_and_named_after_its_component_or_file(source):
    bundled = bundle(source, "GET /things/{id}")

    get = bundled["paths"]["/things/{id}"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert get["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}
    thing = bundled["components"]["schemas"]["Thing"]
    assert thing["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Thing"}  # recursion kept
    assert thing["properties"]["owner"] == {"$ref": "#/components/schemas/owner"}
    assert sorted(bundled["components"]["schemas"]) == ["Thing", "owner"]
    assert get["responses"]["200"]["content"]["application/json"]["example"]["due"] == "2026-01-31"
    validate(bundled)


def test_dropped_keywords_leave_properties_of_that_name(source):
    bundled = bundle(source, "GET /things/{id}", "--drop", "description,example")

    thing = bundled["components"]["schemas"]["Thing"]
    assert thing["properties"]["description"] == {"type": "string"}
    assert "example" not in bundled["paths"]["/things/{id}"]["get"]["responses"]["200"]["content"]["application/json"]


def test_it_reads_the_operations_from_a_file(source):
    operations = source.parent / "operations.txt"
    operations.write_text("# what we call\nGET /things/{id}\nGET /other\n")

    bundled = bundle(source, f"@{operations}")

    assert sorted(bundled["paths"]) == ["/other", "/things/{id}"]


def test_it_refuses_an_operation_the_source_does_not_have(source):
    output = source.parent / "bundle.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(source), str(output), "POST /things/{id}"], capture_output=True, text=True
    )

    assert run.returncode != 0
    assert "has no POST" in run.stderr
    assert not output.exists()
