"""Inbound changes: signed webhooks and polling that update work items from a tool through a
three-way merge (base, ours, theirs), never echoing the change back to where it came from."""
