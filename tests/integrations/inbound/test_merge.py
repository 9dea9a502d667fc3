"""The three-way merge decision on its own (no database): every branch of the table, every
policy, and what a merge writes on the link."""

import datetime

import pytest

from integrations.connectors.base import RemoteStatus
from integrations.inbound.merge import MergeAction, StatusMerge, Winner, link_updates, status_merge
from integrations.models import ExternalLink, StatusConflictPolicy

T0 = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)
EARLIER, LATER = T0 - datetime.timedelta(minutes=5), T0 + datetime.timedelta(minutes=5)


def merge(
    *,
    base="New",
    local="New",
    remote="New",
    policy=StatusConflictPolicy.FIELDHOOK_WINS,
    local_at=T0,
    remote_at=T0,
) -> StatusMerge:
    return status_merge(
        base=base, local=local, remote=remote, policy=policy, local_changed_at=local_at, remote_changed_at=remote_at
    )


# --- The table ---------------------------------------------------------------------------------


def test_nothing_changed_is_agreement():
    assert merge() == StatusMerge(MergeAction.AGREE)


def test_a_change_in_the_tool_alone_is_applied():
    assert merge(remote="Closed") == StatusMerge(MergeAction.APPLY_REMOTE)


def test_a_change_in_fieldhook_alone_keeps_the_local_status():
    assert merge(local="In Progress") == StatusMerge(MergeAction.KEEP_LOCAL)


def test_both_sides_changed_to_the_same_status_is_agreement_not_a_conflict():
    assert merge(local="Closed", remote="Closed") == StatusMerge(MergeAction.AGREE)


def test_both_sides_changed_differently_is_a_conflict():
    assert merge(local="In Progress", remote="Closed").conflict


def test_a_link_without_a_base_takes_the_work_items_status_as_its_base():
    """As the migration did for existing links: the tool's different status is applied."""
    assert merge(base="", local="New", remote="Closed") == StatusMerge(MergeAction.APPLY_REMOTE)


# --- Policies ----------------------------------------------------------------------------------


def conflict(policy, *, local_at=T0, remote_at=T0) -> StatusMerge:
    return merge(local="In Progress", remote="Closed", policy=policy, local_at=local_at, remote_at=remote_at)


def test_by_default_fieldhook_wins_a_conflict():
    assert conflict(StatusConflictPolicy.FIELDHOOK_WINS) == StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK)


def test_the_tool_wins_policy_applies_the_tools_status():
    assert conflict(StatusConflictPolicy.TOOL_WINS) == StatusMerge(MergeAction.APPLY_REMOTE, Winner.TOOL)


def test_newer_wins_takes_the_tools_later_change():
    decided = conflict(StatusConflictPolicy.NEWER_WINS, local_at=EARLIER, remote_at=LATER)

    assert decided == StatusMerge(MergeAction.APPLY_REMOTE, Winner.TOOL)


def test_newer_wins_keeps_fieldhooks_later_change():
    decided = conflict(StatusConflictPolicy.NEWER_WINS, local_at=LATER, remote_at=EARLIER)

    assert decided == StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK)


def test_newer_wins_gives_a_tie_to_fieldhook():
    decided = conflict(StatusConflictPolicy.NEWER_WINS, local_at=T0, remote_at=T0)

    assert decided == StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK)


@pytest.mark.parametrize(("local_at", "remote_at"), [(T0, None), (None, T0)], ids=["tool-no-time", "local-no-time"])
def test_newer_wins_without_a_time_falls_back_to_fieldhook_and_says_so(local_at, remote_at):
    decided = conflict(StatusConflictPolicy.NEWER_WINS, local_at=local_at, remote_at=remote_at)

    assert decided == StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK, untimed=True)


@pytest.mark.parametrize("policy", list(StatusConflictPolicy))
def test_no_policy_matters_without_a_conflict(policy):
    assert merge(remote="Closed", policy=policy, remote_at=EARLIER) == StatusMerge(MergeAction.APPLY_REMOTE)
    assert merge(local="Closed", policy=policy, remote_at=LATER) == StatusMerge(MergeAction.KEEP_LOCAL)


# --- What the link records ---------------------------------------------------------------------


def link(**fields) -> ExternalLink:
    return ExternalLink(**{"base_status": "New", "last_remote_status": "New", "remote_version": 3, **fields})


def remote(status="New", *, changed_at=None, version=None) -> RemoteStatus:
    return RemoteStatus(external_id="101", status=status, changed_at=changed_at, version=version)


def updates(link_: ExternalLink, remote_: RemoteStatus, mapped: str, decided: StatusMerge) -> dict:
    return link_updates(link=link_, remote=remote_, mapped=mapped, merge=decided, now=T0)


def test_a_link_that_already_says_it_all_gets_nothing_written():
    assert updates(link(), remote(version=3), "New", StatusMerge(MergeAction.AGREE)) == {}


def test_an_applied_status_becomes_the_base_with_the_tools_name_and_time():
    changed = updates(link(), remote("Review", changed_at=LATER, version=4), "In Progress", merge(remote="In Progress"))

    assert changed == {
        "base_status": "In Progress",
        "last_remote_status": "Review",
        "last_remote_at": LATER,
        "remote_version": 4,
    }


def test_without_the_tools_time_the_first_sighting_is_recorded():
    changed = updates(link(), remote("Closed"), "Closed", merge(remote="Closed"))

    assert changed["last_remote_at"] == T0


def test_a_kept_local_change_leaves_the_base_alone():
    decided = StatusMerge(MergeAction.KEEP_LOCAL, Winner.FIELDHOOK)

    assert updates(link(), remote("Closed"), "Closed", decided) == {
        "last_remote_status": "Closed",
        "last_remote_at": T0,
    }


def test_a_newer_version_alone_writes_nothing():
    """A poll after an edit of another field: no write for every edited object."""
    assert updates(link(), remote(version=9), "New", StatusMerge(MergeAction.AGREE)) == {}


def test_agreement_on_a_different_status_records_the_new_base():
    assert updates(link(), remote(), "New", StatusMerge(MergeAction.AGREE)) == {}
    assert updates(link(base_status="Closed"), remote(), "New", StatusMerge(MergeAction.AGREE)) == {
        "base_status": "New"
    }
