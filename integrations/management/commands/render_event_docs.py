"""python manage.py render_event_docs [--check]: docs/events.md from the event schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.event_contract import SCHEMA_DIR, event_schemas
from integrations.payloads import SCHEMA_VERSION

DOC = Path(settings.BASE_DIR) / "docs" / "events.md"

INTRO = f"""# Events: the payload contract

<!-- Generated from integrations/event_schemas/ by `python manage.py render_event_docs`; edit the schemas, not this page. -->

Every event Fieldhook sends is one JSON object. Its shape is a contract, written as one JSON
Schema (draft 2020-12) per event type, kept in the repository
(`{SCHEMA_DIR.relative_to(settings.BASE_DIR)}/`, the shared parts in `defs.json`) and served,
self-contained, by the API:

```bash
curl -s $API/event-types/ -H "Authorization: Token $TOKEN"   # [{{"name", "label", "subscribable", "schema"}}, …]
```

Every payload carries `schema_version` (now `"{SCHEMA_VERSION}"`): the major number changes
only when receivers must adapt, the minor one when fields are added. The schemas reject
fields they do not list, so validate against the schema of the version you receive. The
test suite validates every payload the engine produces against these schemas.

Delivery is at least once: the same event may arrive twice (a retry after a lost answer,
a replay), always with the same `event_id`, also sent as the `webhook-id` header. Events
of one work item reach one integration in the order they happened.
"""


class Command(BaseCommand):
    help = "Write docs/events.md from the event schemas (--check: fail if it is out of date)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Only check that docs/events.md is up to date.")

    def handle(self, *args, check: bool, **options) -> None:
        text = events_markdown()
        if check:
            if DOC.read_text() != text:
                raise CommandError("docs/events.md is out of date: run `python manage.py render_event_docs`.")
            self.stdout.write("docs/events.md is up to date.")
            return
        DOC.write_text(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {DOC.relative_to(settings.BASE_DIR)}."))


def events_markdown() -> str:
    schemas = event_schemas()
    parts = [INTRO.strip(), "| event | when |\n|---|---|"]
    parts[-1] += "".join(
        f"\n| [`{name}`](#{name}) | {_cell(_first_sentence(schema['description']))} |"
        for name, schema in schemas.items()
    )
    for name, schema in schemas.items():
        parts.append(_event_section(name, schema))
    defs = next(iter(schemas.values()))["$defs"]
    parts.append(_object_section("The `workitem` object", defs["workitem"], defs))
    return "\n\n".join(parts) + "\n"


def _event_section(name: str, schema: dict[str, Any]) -> str:
    example = _json(schema["examples"][0])
    return "\n\n".join(
        [
            f"## `{name}`",
            schema["description"],
            _fields_table(schema, schema["$defs"]),
            f"Example:\n\n```json\n{example}\n```",
        ]
    )


def _object_section(title: str, schema: dict[str, Any], defs: dict[str, Any]) -> str:
    return f"## {title}\n\n{schema['description']}\n\n{_fields_table(schema, defs)}"


def _fields_table(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for field, node in schema["properties"].items():
        rows.append(f"| `{field}` | {_cell(_type(node, defs))} | {_cell(_description(node, defs))} |")
    return "\n".join(rows)


def _resolved(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    if not ref.startswith("#/$defs/"):
        return node
    target: Any = defs
    for part in ref.removeprefix("#/$defs/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    name = node.get("$ref", "").rsplit("/", 1)[-1]
    node = _resolved(node, defs)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " | ".join(f"`{value}`" for value in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(option, defs) for option in node["anyOf"])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if kinds == ["object"] and name in defs:
        fields = ", ".join(node["properties"])
        return f"object ({fields})"
    if node.get("format"):
        return f"{kinds[0]} ({node['format']})" + "".join(f" or {kind}" for kind in kinds[1:])
    return " or ".join(kinds)


def _description(node: dict[str, Any], defs: dict[str, Any]) -> str:
    return node.get("description") or _resolved(node, defs).get("description", "")


def _json(value: Any, indent: str = "") -> str:
    """Indented JSON where an object of plain values stays on one line (as in docs/integrations.md)."""
    if isinstance(value, dict) and any(isinstance(item, dict | list) for item in value.values()):
        inner = indent + "  "
        items = ",\n".join(f"{inner}{json.dumps(key)}: {_json(item, inner)}" for key, item in value.items())
        return f"{{\n{items}\n{indent}}}"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _first_sentence(text: str) -> str:
    return text.split(". ", 1)[0].rstrip(".") + "."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
