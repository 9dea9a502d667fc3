"""The event contract: one JSON Schema per event type, kept in integrations/event_schemas/
(the parts they share in defs.json), served at GET /api/v1/event-types/ and rendered into
docs/events.md (`manage.py render_event_docs`). A test validates every payload the engine
produces against them.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from integrations.models import EventType

SCHEMA_DIR = Path(__file__).resolve().parent / "event_schemas"
DEFS_FILE = "defs.json"


def event_schema(event_type: str) -> dict[str, Any]:
    """The schema of one event type, self-contained: the shared definitions it refers to are
    embedded under `$defs`. KeyError for a type without a schema."""
    return copy.deepcopy(_bundled()[event_type])


def event_schemas() -> dict[str, dict[str, Any]]:
    """Every event type's schema, in the order of EventType."""
    return copy.deepcopy(_bundled())


@cache
def _bundled() -> dict[str, dict[str, Any]]:
    defs = _local_refs(json.loads((SCHEMA_DIR / DEFS_FILE).read_text())["$defs"])
    schemas = {}
    for event_type in EventType.values:
        schema = _local_refs(json.loads((SCHEMA_DIR / f"{event_type}.json").read_text()))
        schemas[event_type] = {**schema, "$defs": defs}
    return schemas


def _local_refs(node: Any) -> Any:
    """`defs.json#/$defs/x` becomes `#/$defs/x`: the definitions travel inside each schema."""
    if isinstance(node, dict):
        return {
            key: value.replace(f"{DEFS_FILE}#", "#", 1) if key == "$ref" else _local_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node
