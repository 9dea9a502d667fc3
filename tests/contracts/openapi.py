"""Load a vendor's OpenAPI spec from tests/contracts/specs/<vendor>/openapi.json, the one-file
bundle `scripts/openapi_bundle.py` makes of the vendor's own spec (source, version and
licence in the SOURCE.md beside it). Only files inside the repository are read, so that a
clone alone runs the contract tests."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI

SPECS_DIR = Path(__file__).resolve().parent / "specs"


def vendor_spec_path(vendor: str) -> Path:
    return SPECS_DIR / vendor / "openapi.json"


def vendor_spec_document(vendor: str) -> dict[str, Any]:
    """A fresh copy of the bundled document, free to adjust."""
    path = vendor_spec_path(vendor)
    if not path.is_file():
        raise RuntimeError(f"No bundled {vendor} spec at {path}: see scripts/openapi_bundle.py.")
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def vendor_spec(vendor: str, *, server: str, adjust: Callable[[dict[str, Any]], None] | None = None) -> OpenAPI:
    """The vendor's spec served at `server` (instead of the vendor's own instances), after
    `adjust` edited the document; openapi-core checks the result is a valid OpenAPI document."""
    document = vendor_spec_document(vendor)
    document["servers"] = [{"url": server}]
    if adjust is not None:
        adjust(document)
    return OpenAPI.from_dict(document, base_uri=vendor_spec_path(vendor).as_uri())
