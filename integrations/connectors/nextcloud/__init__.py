"""Nextcloud: one folder per work item (WebDAV), a readable workitem.md and a history.md in it,
and optional shares (OCS files_sharing API)."""
