"""The integrations admin: one module per screen; importing this package registers them."""

from integrations.admin import integration, sync  # noqa: F401
