"""The integrations admin: one module per screen; importing this package registers them."""

from integrations.admin import integration, links, packages, sync  # noqa: F401
