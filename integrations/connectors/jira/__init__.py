"""Jira Cloud: a work item as an issue in one project, its status changes as workflow
transitions, its edits as comments; statuses back by polling `search/jql` and by Jira's
admin webhooks (`inbound`)."""
