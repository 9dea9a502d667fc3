"""Jira's side of issue packages (`Capability.CREATES_PACKAGES`, driven by
integrations/packages.py): the parent through `POST /issue`, the children through
`POST /issue/bulk` (at most 50 a call; refused ones reported by `failedElementNumber`), each
child made a sub-task of the parent (its `parent` field) when its type is a sub-task type,
else linked to it ("Relates"). Every issue carries two labels, the run's and its own, so a
resumed run finds with one `search/jql` what an earlier try created."""

from __future__ import annotations

from typing import Any

from integrations.connectors.base import PackageBatch, PackageCreated, PackageIssue
from integrations.connectors.jira import render
from integrations.connectors.jira.client import BULK_LIMIT, JiraClient

# The sub-task type of company-managed ("Sub-task") and team-managed ("Subtask") projects as
# Jira creates them; a child of another type is linked to the parent instead.
SUBTASK_TYPES = frozenset({"sub-task", "subtask"})
LINK_TYPE = "Relates"  # a link type every Jira site has unless an admin deleted it


def is_subtask(issue_type: str) -> bool:
    return issue_type.strip().casefold() in SUBTASK_TYPES


def package_fields(*, project_key: str, issue: PackageIssue, parent_key: str = "") -> dict[str, Any]:
    """The create fields of one issue of a package (a sub-task names its parent)."""
    fields: dict[str, Any] = {
        "project": {"key": project_key},
        "issuetype": {"name": issue.issue_type},
        "summary": issue.summary,
        "description": package_description(issue),
        "labels": [issue.group, issue.marker],
    }
    if parent_key and is_subtask(issue.issue_type):
        fields["parent"] = {"key": parent_key}
    return fields


def package_description(issue: PackageIssue) -> dict[str, Any]:
    """The template's text, then the work item's facts, then the way back to Fieldhook (ADF)."""
    blocks = render.plain_paragraphs(issue.description)
    if issue.facts:
        blocks.append(render.bullets([render.labelled(label, value) for label, value in issue.facts]))
    if issue.link:
        blocks.append(render.paragraph(render.text("Open in Fieldhook", render.link(issue.link))))
    return render.doc(*blocks) if blocks else render.doc(render.paragraph(render.text(issue.summary)))


def _quoted(value: str) -> str:
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraPackages:
    """Mixed into the Jira connector, whose `client` is the site's JiraClient."""

    client: JiraClient
    package_batch_size = BULK_LIMIT

    def package_find(self, *, project_key: str, group: str) -> dict[str, PackageCreated]:
        client = self.client
        jql = f"project = {_quoted(project_key)} AND labels = {_quoted(group)} ORDER BY key ASC"
        found: dict[str, PackageCreated] = {}
        for issue in client.issues_search(jql, fields=["labels", "parent"]):
            fields = issue.get("fields") or {}
            for label in fields.get("labels") or []:
                if label.startswith(f"{group}-"):
                    key = str(issue["key"])
                    found[label] = PackageCreated(
                        marker=label, key=key, url=client.browse_url(key), linked=bool(fields.get("parent"))
                    )
        return found

    def package_create_parent(self, *, project_key: str, issue: PackageIssue) -> PackageCreated:
        client = self.client
        answer = client.issue_create(package_fields(project_key=project_key, issue=issue))
        key = str(answer["key"])
        return PackageCreated(marker=issue.marker, key=key, url=client.browse_url(key), linked=True)

    def package_create_children(
        self, *, project_key: str, parent: PackageCreated, children: list[PackageIssue]
    ) -> PackageBatch:
        client = self.client
        result = client.issues_create_bulk(
            [
                {"fields": package_fields(project_key=project_key, issue=child, parent_key=parent.key)}
                for child in children
            ]
        )
        created = [
            PackageCreated(
                marker=children[index].marker,
                key=key,
                url=client.browse_url(key),
                linked=is_subtask(children[index].issue_type),
            )
            for index, _issue_id, key in result.created
        ]
        refused = {children[index].marker: reason for index, reason in result.failed if 0 <= index < len(children)}
        return PackageBatch(created=created, refused=refused)

    def package_link_child(self, *, parent: PackageCreated, child: PackageCreated) -> None:
        self.client.issue_link_create(link_type=LINK_TYPE, inward_key=parent.key, outward_key=child.key)
