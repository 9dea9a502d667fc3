"""Inbound changes: signed webhooks and polling that update work items from a tool, never
echoing the change back to the integration it came from."""
