"""The note a status conflict leaves on its work item: both values, the base, the policy, and
whether the two sides will agree again on their own."""

import dataclasses
import datetime

from integrations.inbound.merge import MergeAction, StatusMerge, Winner
from integrations.inbound.notes import ConflictFacts, conflict_note
from integrations.models import StatusConflictPolicy

LOCAL_AT = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)
REMOTE_AT = datetime.datetime(2026, 11, 24, 11, 30, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
FACTS = ConflictFacts(
    tool="OpenProject",
    where="work package #101, via poll",
    base="New",
    local="In Progress",
    local_changed_at=LOCAL_AT,
    remote="Closed",
    remote_changed_at=REMOTE_AT,
    mapped="Closed",
    policy=StatusConflictPolicy.FIELDHOOK_WINS,
    sync_pending=True,
    sends_statuses=True,
)
HEAD = (
    "Status conflict with OpenProject (work package #101, via poll): since both sides last agreed on 'New', "
    "Fieldhook changed it to 'In Progress' and OpenProject to 'Closed'."
)
FIELDHOOK_WON = StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK)
TOOL_WON = StatusMerge(MergeAction.APPLY_REMOTE, Winner.TOOL)


def note(merge: StatusMerge, **changes) -> str:
    return conflict_note(dataclasses.replace(FACTS, **changes), merge)


def test_fieldhook_wins_with_its_change_still_on_the_way():
    assert note(FIELDHOOK_WON) == (
        f"{HEAD} Policy 'Fieldhook wins': Fieldhook keeps 'In Progress'; the status change waiting to be sent "
        "will set it in OpenProject."
    )


def test_fieldhook_wins_after_its_change_failed_for_good_points_to_replay():
    assert note(FIELDHOOK_WON, sync_pending=False) == (
        f"{HEAD} Policy 'Fieldhook wins': Fieldhook keeps 'In Progress', but no status change is waiting to be "
        "sent to OpenProject (the last one failed), so OpenProject shows 'Closed' until the next status change "
        "is sent; use Replay on the failed sync to send it now."
    )


def test_fieldhook_wins_for_an_integration_that_never_sends_statuses_says_the_tool_keeps_its_own():
    text = note(FIELDHOOK_WON, sync_pending=False, sends_statuses=False)

    assert text.endswith(
        "Fieldhook keeps 'In Progress'; this integration does not send status changes, so OpenProject keeps "
        "'Closed' (choose the policy 'The tool wins' if OpenProject should lead)."
    )


def test_the_tool_wins():
    assert note(TOOL_WON, policy=StatusConflictPolicy.TOOL_WINS, sync_pending=False) == (
        f"{HEAD} Policy 'The tool wins': the work item takes 'Closed'."
    )


def test_the_tool_wins_over_changes_still_on_the_way_says_they_are_overtaken():
    text = note(TOOL_WON, policy=StatusConflictPolicy.TOOL_WINS)

    assert text.endswith(
        "the work item takes 'Closed'. The status changes still waiting to be sent to OpenProject go first, "
        "then this one, so OpenProject ends on it too."
    )


def test_newer_wins_names_both_times_in_utc():
    text = note(TOOL_WON, policy=StatusConflictPolicy.NEWER_WINS)

    assert (
        "Policy 'The newer change wins', and OpenProject's change (2026-11-24 10:30:15 UTC) is newer than "
        "Fieldhook's (2026-11-24 10:00:00 UTC): the work item takes 'Closed'."
    ) in text


def test_newer_wins_when_fieldhooks_change_is_newer():
    text = note(FIELDHOOK_WON, policy=StatusConflictPolicy.NEWER_WINS, remote_changed_at=LOCAL_AT)

    assert "(2026-11-24 10:00:00 UTC) is not newer than Fieldhook's (2026-11-24 10:00:00 UTC): Fieldhook keeps" in text


def test_newer_wins_without_the_tools_time_says_the_default_applied():
    untimed = StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK, untimed=True)

    text = note(untimed, policy=StatusConflictPolicy.NEWER_WINS, remote_changed_at=None)

    assert (
        "Policy 'The newer change wins', but OpenProject did not say when its change was made, so the default "
        "applies: Fieldhook keeps 'In Progress'"
    ) in text


def test_a_tool_status_standing_for_another_fieldhook_status_names_both():
    text = note(FIELDHOOK_WON, remote="Rejected", mapped="Cancelled")

    assert "OpenProject to 'Rejected' ('Cancelled' in Fieldhook)." in text
