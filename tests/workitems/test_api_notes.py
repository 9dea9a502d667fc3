"""Notes on a work item: listed oldest first, added by the caller as user notes, tenant-scoped."""

from datetime import timedelta

import pytest

from tests.factories import WorkItemFactory
from workitems import services
from workitems.models import WorkItemNote


def notes_url(workitem) -> str:
    return f"/api/v1/workitems/{workitem.pk}/notes/"


@pytest.fixture
def acme_item(tenant):
    return WorkItemFactory(tenant=tenant)


def test_notes_are_listed_oldest_first(api, acme_item):
    first_written = services.workitem_note_create(workitem=acme_item, body="Written first, dated later")
    second_written = services.workitem_note_create(workitem=acme_item, body="Written second, dated earlier")
    WorkItemNote.objects.filter(pk=first_written.pk).update(created_at=second_written.created_at + timedelta(hours=1))

    response = api.get(notes_url(acme_item))

    assert response.status_code == 200
    assert [row["body"] for row in response.data["results"]] == [
        "Written second, dated earlier",
        "Written first, dated later",
    ]


def test_the_notes_list_is_paginated(api, acme_item):
    for number in range(3):
        services.workitem_note_create(workitem=acme_item, body=f"Note {number}")

    response = api.get(notes_url(acme_item), {"page_size": 2})

    assert (response.data["count"], len(response.data["results"])) == (3, 2)
    assert "page=2" in response.data["next"]


def test_the_notes_list_shows_only_that_workitems_notes(api, tenant, acme_item):
    services.workitem_note_create(workitem=WorkItemFactory(tenant=tenant), body="Elsewhere")
    services.workitem_note_create(workitem=acme_item, body="Here")

    response = api.get(notes_url(acme_item))

    assert [row["body"] for row in response.data["results"]] == ["Here"]


def test_a_listed_note_shows_its_kind_and_author(api, owner, acme_item):
    services.workitem_note_create(workitem=acme_item, body="Parts ordered", author=owner)

    row = api.get(notes_url(acme_item)).data["results"][0]

    assert (row["kind"], row["author"]) == ("user", {"id": owner.pk, "name": owner.get_full_name()})


def test_a_system_note_is_listed_without_an_author(api, acme_item):
    services.workitem_note_create(workitem=acme_item, body="Synced to Jira", kind=WorkItemNote.Kind.SYSTEM)

    row = api.get(notes_url(acme_item)).data["results"][0]

    assert (row["kind"], row["author"]) == ("system", None)


def test_posting_a_note_creates_a_user_note_written_by_the_caller(member_api, member, acme_item):
    response = member_api.post(notes_url(acme_item), {"body": "Customer called"})

    assert response.status_code == 201
    note = WorkItemNote.objects.get(pk=response.data["id"])
    assert (note.workitem, note.kind, note.author, note.body) == (acme_item, "user", member, "Customer called")
    assert response.data["author"] == {"id": member.pk, "name": member.get_full_name()}


def test_a_client_cannot_post_a_system_note_or_pick_the_author(api, owner, member, acme_item):
    response = api.post(notes_url(acme_item), {"body": "Sneaky", "kind": "system", "author": member.pk})

    note = WorkItemNote.objects.get(pk=response.data["id"])
    assert (note.kind, note.author) == ("user", owner)


@pytest.mark.parametrize("payload", [{"body": ""}, {}], ids=["empty", "missing"])
def test_a_note_without_a_body_is_a_400_on_body(api, acme_item, payload):
    response = api.post(notes_url(acme_item), payload)

    assert (response.status_code, list(response.data)) == (400, ["body"])
    assert not WorkItemNote.objects.exists()


def test_an_outsider_gets_404_for_the_notes_of_another_tenants_workitem(outsider_api, acme_item):
    services.workitem_note_create(workitem=acme_item, body="Acme internal")

    assert outsider_api.get(notes_url(acme_item)).status_code == 404


def test_an_outsider_gets_404_when_adding_a_note_to_another_tenants_workitem(outsider_api, acme_item):
    response = outsider_api.post(notes_url(acme_item), {"body": "Hello from globex"})

    assert response.status_code == 404
    assert not WorkItemNote.objects.exists()


def test_an_outsider_gets_404_before_their_note_is_validated(outsider_api, acme_item):
    assert outsider_api.post(notes_url(acme_item), {"body": ""}).status_code == 404


def test_notes_are_deleted_with_their_workitem(api, acme_item):
    services.workitem_note_create(workitem=acme_item, body="Gone soon")

    assert api.delete(f"/api/v1/workitems/{acme_item.pk}/").status_code == 204
    assert not WorkItemNote.objects.exists()


@pytest.mark.parametrize(
    ("name", "value_for"),
    [
        ("customer", lambda item: item.customer_id + 1),
        ("status", lambda item: "Closed"),
        ("search", lambda item: "nothing like it"),
        ("updated_since", lambda item: "2099-01-01T00:00Z"),
    ],
)
def test_the_work_item_list_filters_do_not_hide_the_work_item_of_its_notes(api, acme_item, name, value_for):
    """Found by fuzzing: the list's filters were applied to the notes' work item (404)."""
    query = {name: value_for(acme_item)}
    services.workitem_note_create(workitem=acme_item, body="Screen ordered", author=None)

    response = api.get(notes_url(acme_item), query)

    assert response.status_code == 200
    assert [note["body"] for note in response.data["results"]] == ["Screen ordered"]
