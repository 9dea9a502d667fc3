"""Connectors: one module per integration kind, behind `base.Connector` and `registry`."""
