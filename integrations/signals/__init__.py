"""Signal receivers, one module per observed model; importing this package registers them."""

from integrations.signals import workitem  # noqa: F401
