"""Vendor API contracts: the vendors' own OpenAPI specs, bundled inside the repository."""
