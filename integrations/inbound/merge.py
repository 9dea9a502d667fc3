"""The three-way status merge: a status that arrives from a tool (poll or webhook) is compared
with the work item's status *and* with the base, the status both sides last agreed on, to tell
which side changed. Pure: no database, so every branch is tested on its own.

Statuses are compared in Fieldhook's terms (the tool's name mapped through the connector),
since several tool statuses may stand for one of ours. See
docs/decisions/0009-three-way-status-merge.md.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from integrations.connectors.base import RemoteStatus
from integrations.models import ExternalLink, StatusConflictPolicy


class MergeAction(StrEnum):
    AGREE = "agree"  # the tool says what Fieldhook has: that is the new base
    APPLY_REMOTE = "apply_remote"  # the work item takes the tool's status
    KEEP_LOCAL = "keep_local"  # the tool's status is dropped; Fieldhook's is (or is to be) sent


class Winner(StrEnum):
    """Who won a conflict; the `resolution` label of the conflicts metric."""

    FIELDHOOK = "fieldhook_wins"
    TOOL = "tool_wins"


@dataclass(frozen=True)
class StatusMerge:
    action: MergeAction
    winner: Winner | None = None  # set for a conflict (both sides changed) only
    untimed: bool = False  # "newer wins" could not compare (a time is missing): the default policy decided

    @property
    def conflict(self) -> bool:
        return self.winner is not None


def status_merge(
    *,
    base: str,
    local: str,
    remote: str,
    policy: str,
    local_changed_at: datetime.datetime | None,
    remote_changed_at: datetime.datetime | None,
) -> StatusMerge:
    """Decide what a remote status does to a work item.

    `base`, `local` and `remote` are Fieldhook statuses: the last agreed one, the work item's,
    and the tool's mapped to ours. An empty base (a link made outside a delivery) counts as
    the work item's status, the best we know, as the migration that introduced it assumed.
    """
    base = base or local
    if remote == local:
        return StatusMerge(MergeAction.AGREE)
    if local == base:
        return StatusMerge(MergeAction.APPLY_REMOTE)
    if remote == base:
        return StatusMerge(MergeAction.KEEP_LOCAL)
    winner, untimed = _conflict_winner(policy, local_changed_at, remote_changed_at)
    action = MergeAction.APPLY_REMOTE if winner == Winner.TOOL else MergeAction.KEEP_LOCAL
    return StatusMerge(action, winner=winner, untimed=untimed)


def _conflict_winner(
    policy: str, local_changed_at: datetime.datetime | None, remote_changed_at: datetime.datetime | None
) -> tuple[Winner, bool]:
    if policy == StatusConflictPolicy.TOOL_WINS:
        return Winner.TOOL, False
    if policy != StatusConflictPolicy.NEWER_WINS:
        return Winner.FIELDHOOK, False
    if local_changed_at is None or remote_changed_at is None:
        return Winner.FIELDHOOK, True
    # A tie goes to Fieldhook, the default.
    return (Winner.TOOL if remote_changed_at > local_changed_at else Winner.FIELDHOOK), False


def link_updates(
    *, link: ExternalLink, remote: RemoteStatus, mapped: str, merge: StatusMerge, now: datetime.datetime
) -> dict[str, Any]:
    """The link fields a merge changes; {} when the link already says all of it (the steady state
    of a poll: nothing to write). A kept local change leaves the base alone: nothing new was agreed."""
    changes: dict[str, Any] = {}
    if merge.action != MergeAction.KEEP_LOCAL and link.base_status != mapped:
        changes["base_status"] = mapped
    if remote_name(remote) != link.last_remote_status:
        changes["last_remote_status"] = remote_name(remote)
        changes["last_remote_at"] = remote.changed_at or now
    newer = remote.version is not None and (link.remote_version is None or remote.version > link.remote_version)
    if changes and newer:
        changes["remote_version"] = remote.version
    return changes


def remote_name(remote: RemoteStatus) -> str:
    """The tool's status name as the link stores it."""
    return remote.status[: ExternalLink._meta.get_field("last_remote_status").max_length]
