#!/usr/bin/env python3
"""Bundle a vendor's OpenAPI document (OAS 3.0/3.1, YAML or JSON, one file or many joined by
relative `$ref`s) into one JSON file that keeps only the operations we use.

The contract tests validate our requests against vendor specs that must live inside the
repository: this makes them one small self-contained file per vendor, reproducibly.

    python scripts/openapi_bundle.py SOURCE OUTPUT "GET /api/v3/statuses" "PATCH /api/v3/work_packages/{id}" …
    python scripts/openapi_bundle.py SOURCE OUTPUT @operations.txt      # one operation a line

What the output holds:
- the kept operations (and their path item's parameters and servers), every other path and
  method dropped, as are the top-level tags (descriptions only) and webhooks;
- every schema they reach, transitively, under `components/schemas`: a component of the
  source keeps its name (also when the source declares it as a `$ref` to another file), a
  schema reached only through a file is named after the file; schema `$ref`s point there;
- other references (responses, parameters, request bodies, headers, examples…) either point
  to the source's own component of that name or, when the source has none, are inlined;
- `components/securitySchemes` and the top-level `security` unchanged;
- the keys given to `--drop` removed wherever they are OpenAPI or JSON Schema keywords (never
  where they are names, such as a property called `description`);
- `x-bundle`: the source's file name and SHA-256 and the kept operations.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PATH_ITEM_KEYS = ("summary", "description", "servers", "parameters")
TOP_LEVEL_KEYS = ("openapi", "info", "jsonSchemaDialect", "servers", "security")
# Keys whose value maps names to objects (a name there is never a keyword to drop).
NAME_MAPS = {"paths", "responses", "content", "headers", "examples", "links", "callbacks", "encoding", "variables"}
SCHEMA_NAME_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
SCHEMA_VALUES = {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
SCHEMA_VALUES |= {"unevaluatedProperties", "unevaluatedItems", "additionalItems", "contentSchema"}

Key = tuple[Path, str]  # (file, JSON pointer) a reference resolves to


class _Loader(yaml.SafeLoader):
    """YAML without the timestamp type, so that dates stay strings as JSON needs them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Bundler:
    """One source spec: the files read, the components reached so far and those still to copy."""

    def __init__(self, source: Path, *, drop: set[str]) -> None:
        self.source = source.resolve()
        self.drop = drop
        self.files: dict[Path, Any] = {}
        self.root = self.load(self.source)
        self.names: dict[Key, tuple[str, str]] = {}  # target -> (components section, name)
        self.taken: set[str] = set(self.root.get("components", {}).get("schemas", {}))
        self.components: dict[str, dict[str, Any]] = {}
        self.pending: list[tuple[str, str, Key]] = []
        for section, entries in self.root.get("components", {}).items():
            for name, value in entries.items():
                self.names.setdefault((self.source, f"/components/{section}/{escape(name)}"), (section, name))
                if isinstance(value, dict) and set(value) == {"$ref"}:
                    self.names.setdefault(self.resolve(value["$ref"], self.source), (section, name))

    # --- Files and references -------------------------------------------------------------

    def load(self, path: Path) -> Any:
        if path not in self.files:
            if not path.is_file():
                raise SystemExit(f"{path}: no such file (a $ref points to it)")
            text = path.read_text(encoding="utf-8")
            self.files[path] = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)  # noqa: S506
        return self.files[path]

    def resolve(self, ref: str, base: Path) -> Key:
        file_part, _, pointer = ref.partition("#")
        return ((base.parent / unquote(file_part)).resolve() if file_part else base), unquote(pointer)

    def target(self, key: Key) -> tuple[Any, Path]:
        """The value a reference points to and its file, following references that are nothing else."""
        seen = set()
        while True:
            node = self.load(key[0])
            for token in [t for t in key[1].split("/") if t]:
                token = token.replace("~1", "/").replace("~0", "~")
                node = node[int(token)] if isinstance(node, list) else node[token]
            if not (isinstance(node, dict) and set(node) == {"$ref"}) or key in seen:
                return node, key[0]
            seen.add(key)
            key = self.resolve(node["$ref"], key[0])

    # --- Walking ----------------------------------------------------------------------------

    def component_ref(self, key: Key, *, schema: bool) -> str | None:
        """The local reference to the component that `key` is, or None to inline it."""
        if key not in self.names:
            if not schema:
                return None
            stem = re.sub(r"\W", "_", key[0].stem + "".join(f"_{t}" for t in key[1].split("/")[-1:] if t))
            name, n = stem, 1
            while name in self.taken:
                n += 1
                name = f"{stem}_{n}"
            self.taken.add(name)
            self.names[key] = ("schemas", name)
        section, name = self.names[key]
        if name not in self.components.get(section, {}):
            self.components.setdefault(section, {})[name] = None
            self.pending.append((section, name, key))
        return f"#/components/{section}/{escape(name)}"

    def reference(self, node: dict[str, Any], base: Path, *, schema: bool) -> Any:
        key = self.resolve(node["$ref"], base)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        local = self.component_ref(key, schema=schema)
        if local is not None:
            walked = self.walk(siblings, base, schema=schema) if schema else self.other(siblings, base)
            return {"$ref": local, **walked}
        value, file = self.target(key)
        inlined = self.other(value, file)
        return {**inlined, **self.other(siblings, base)} if isinstance(inlined, dict) else inlined

    def walk(self, node: Any, base: Path, *, schema: bool) -> Any:
        """Copy a schema (schema=True) or any other OpenAPI object, bundling its references."""
        if isinstance(node, list):
            return [self.walk(item, base, schema=schema) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and isinstance(node["$ref"], str):
            return self.reference(node, base, schema=schema)
        return self.schema(node, base) if schema else self.other(node, base)

    def schema(self, node: dict[str, Any], base: Path) -> dict[str, Any]:
        out = {}
        for key, value in node.items():
            if key in self.drop:
                continue
            if key in SCHEMA_NAME_MAPS and isinstance(value, dict):
                out[key] = {name: self.walk(sub, base, schema=True) for name, sub in value.items()}
            elif key in SCHEMA_LISTS or key in SCHEMA_VALUES:
                out[key] = self.walk(value, base, schema=True)
            elif key == "discriminator" and isinstance(value, dict) and isinstance(value.get("mapping"), dict):
                mapping = {
                    name: self.component_ref(self.resolve(ref, base), schema=True)
                    for name, ref in value["mapping"].items()
                }
                out[key] = {**value, "mapping": mapping}
            else:
                out[key] = copy.deepcopy(value)  # keywords, data (example, default, const, enum…) and x-…
        return out

    def other(self, node: Any, base: Path) -> Any:
        if isinstance(node, list):
            return [self.walk(item, base, schema=False) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in self.drop:
                continue
            if key == "schema":
                out[key] = self.walk(value, base, schema=True)
            elif key in NAME_MAPS and isinstance(value, dict):
                out[key] = {name: self.walk(sub, base, schema=False) for name, sub in value.items()}
            else:
                out[key] = self.walk(value, base, schema=False)
        return out

    # --- The bundle --------------------------------------------------------------------------

    def bundle(self, operations: list[str]) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for operation in operations:
            method, path = parse_operation(operation)
            if path not in self.root.get("paths", {}):
                raise SystemExit(f"{operation}: the source has no path {path}")
            item, file = self.target((self.source, f"/paths/{escape(path)}"))
            if method not in item:
                raise SystemExit(f"{operation}: the source's {path} has no {method.upper()}")
            kept = paths.setdefault(path, self.other({k: v for k, v in item.items() if k in PATH_ITEM_KEYS}, file))
            kept[method] = self.other(item[method], file)
        while self.pending:
            section, name, key = self.pending.pop()
            value, file = self.target(key)
            self.components[section][name] = self.walk(value, file, schema=section == "schemas")
        components = {section: dict(sorted(entries.items())) for section, entries in sorted(self.components.items())}
        security = self.root.get("components", {}).get("securitySchemes")
        if security:
            components["securitySchemes"] = copy.deepcopy(security)
        out = {key: copy.deepcopy(self.root[key]) for key in TOP_LEVEL_KEYS if key in self.root}
        info = out.get("info", {})
        for key in self.drop & set(info):
            del info[key]
        source_sha = hashlib.sha256(self.source.read_bytes()).hexdigest()
        bundle_info = {"source": self.source.name, "source_sha256": source_sha, "operations": operations}
        return {**out, "paths": paths, "components": components, "x-bundle": bundle_info}


def parse_operation(operation: str) -> tuple[str, str]:
    method, _, path = operation.strip().partition(" ")
    if method.lower() not in METHODS or not path.strip().startswith("/"):
        raise SystemExit(f'{operation!r}: expected "METHOD /path", e.g. "GET /api/v3/statuses"')
    return method.lower(), path.strip()


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], fromfile_prefix_chars="@")
    parser.add_argument("source", type=Path, help="the spec's entry file (YAML or JSON)")
    parser.add_argument("output", type=Path, help="the bundled JSON file to write")
    parser.add_argument(
        "operations", nargs="+", help='"METHOD /path" as the source spells the path; @FILE reads a list'
    )
    parser.add_argument(
        "--drop", default="", help="comma-separated keywords to leave out everywhere, e.g. example,examples"
    )
    args = parser.parse_args(argv)
    operations = [o for o in (op.strip() for op in args.operations) if o and not o.startswith("#")]
    drop = {key for key in args.drop.split(",") if key}
    bundled = Bundler(args.source, drop=drop).bundle(operations)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(bundled, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    schemas = len(bundled["components"].get("schemas", {}))
    print(f"{args.output}: {len(operations)} operations, {schemas} schemas, {args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
