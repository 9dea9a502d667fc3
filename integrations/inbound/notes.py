"""The system note a status conflict leaves on its work item: both values, what they last agreed
on, the policy that settled it, and whether the two sides will agree again on their own."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from integrations.inbound.merge import StatusMerge, Winner
from integrations.models import StatusConflictPolicy


@dataclass(frozen=True)
class ConflictFacts:
    tool: str  # the connector's label, "OpenProject"
    where: str  # "work package #101, via poll"
    base: str
    local: str
    local_changed_at: datetime.datetime | None
    remote: str  # the tool's own name
    remote_changed_at: datetime.datetime | None
    mapped: str  # the tool's status in Fieldhook's terms
    policy: str
    sync_pending: bool  # a status change of this work item is still on its way to the tool
    sends_statuses: bool  # the integration is subscribed to status changes


def conflict_note(facts: ConflictFacts, merge: StatusMerge) -> str:
    """e.g. "Status conflict with OpenProject (work package #101, via poll): since both sides
    last agreed on 'New', Fieldhook changed it to 'In Progress' and OpenProject to 'Closed'.
    Policy 'Fieldhook wins': Fieldhook keeps 'In Progress'; the status change waiting to be
    sent will set it in OpenProject." """
    here = f" ('{facts.mapped}' in Fieldhook)" if facts.mapped.casefold() != facts.remote.casefold() else ""
    head = (
        f"Status conflict with {facts.tool} ({facts.where}): since both sides last agreed on '{facts.base}', "
        f"Fieldhook changed it to '{facts.local}' and {facts.tool} to '{facts.remote}'{here}."
    )
    outcome = _tool_won(facts) if merge.winner == Winner.TOOL else _fieldhook_won(facts)
    return f"{head} {_policy(facts, merge)}: {outcome}"


def _policy(facts: ConflictFacts, merge: StatusMerge) -> str:
    policy = f"Policy '{StatusConflictPolicy(facts.policy).label}'"
    if facts.policy != StatusConflictPolicy.NEWER_WINS:
        return policy
    if merge.untimed:
        missing = facts.tool if facts.remote_changed_at is None else "Fieldhook"
        return f"{policy}, but {missing} did not say when its change was made, so the default applies"
    newer = "is newer than" if merge.winner == Winner.TOOL else "is not newer than"
    return (
        f"{policy}, and {facts.tool}'s change ({_moment(facts.remote_changed_at)}) {newer} "
        f"Fieldhook's ({_moment(facts.local_changed_at)})"
    )


def _tool_won(facts: ConflictFacts) -> str:
    outcome = f"the work item takes '{facts.mapped}'."
    if facts.sync_pending:
        outcome += (
            f" The status changes still waiting to be sent to {facts.tool} go first, then this one, so "
            f"{facts.tool} ends on it too."
        )
    return outcome


def _fieldhook_won(facts: ConflictFacts) -> str:
    outcome = f"Fieldhook keeps '{facts.local}'"
    if facts.sync_pending:
        return f"{outcome}; the status change waiting to be sent will set it in {facts.tool}."
    if facts.sends_statuses:
        return (
            f"{outcome}, but no status change is waiting to be sent to {facts.tool} (the last one failed), so "
            f"{facts.tool} shows '{facts.remote}' until the next status change is sent; use Replay on the "
            "failed sync to send it now."
        )
    return (
        f"{outcome}; this integration does not send status changes, so {facts.tool} keeps '{facts.remote}' "
        f"(choose the policy 'The tool wins' if {facts.tool} should lead)."
    )


def _moment(value: datetime.datetime | None) -> str:
    return f"{value.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC" if value else "unknown"
