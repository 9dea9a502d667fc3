"""OpenProject (API v3): work items as work packages, statuses both ways."""
