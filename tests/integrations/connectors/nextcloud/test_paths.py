"""Folder names and their encoding: whatever a tenant, a reference or a description holds, it is
one name inside the root folder that Nextcloud and its sync clients accept."""

import pytest

from integrations.connectors.nextcloud.config import root_folder_cleaned
from integrations.connectors.nextcloud.paths import encoded, folder_name, root_segments, segment


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Acme Repairs", "Acme Repairs"),
        ("../../etc", "etc"),
        ("..", ""),
        ("a/b\\c", "a b c"),
        ('What? "Now" <b>|*:', "What Now b"),
        ("  tabs\tand\nnew lines  ", "tabs and new lines"),
        (".hidden.", "hidden"),
        ("backup.part", "backup part"),
        ("Cafe\u0301", "Café"),  # NFC: the composed é
    ],
)
def test_a_segment_is_one_name_sync_clients_accept(text, name):
    assert segment(text) == name


def test_a_tenant_name_fills_one_folder_of_the_root_however_it_is_written():
    assert root_segments("Fieldhook/{tenant}/Jobs", tenant="../Acme/Beta") == ["Fieldhook", "Acme Beta", "Jobs"]


def test_without_a_tenant_the_root_stops_before_it():
    assert root_segments("Fieldhook/{tenant}/Jobs", tenant=None) == ["Fieldhook"]


def test_a_folder_name_is_the_reference_and_the_first_line_of_the_description():
    workitem = {"id": 7, "reference_id": "RMA-7", "description": "Cracked screen\nand a loose button"}

    assert folder_name(workitem, with_description=True) == "RMA-7 - Cracked screen"
    assert folder_name(workitem, with_description=False) == "RMA-7"


def test_a_long_description_is_cut_between_words():
    workitem = {"id": 7, "reference_id": "RMA-7", "description": "The screen is cracked " + "all over " * 20}

    name = folder_name(workitem, with_description=True)

    assert name == "RMA-7 - The screen is cracked all over all over all over all over all"
    assert len(name) <= 70


def test_a_reference_that_is_no_name_falls_back_to_the_id():
    assert folder_name({"id": 7, "reference_id": "..", "description": ""}, with_description=True) == "Work item 7"


def test_each_segment_is_percent_encoded_alone():
    assert encoded("/Zürich #1/50% done?/a&b") == "Z%C3%BCrich%20%231/50%25%20done%3F/a%26b"


@pytest.mark.parametrize(
    ("template", "cleaned", "error"),
    [
        ("/Fieldhook//{tenant}/", "Fieldhook/{tenant}", ""),
        ("", "", ""),
        ("Fieldhook/../etc", "", "'..' is not a folder name Nextcloud accepts as written"),
        ("Fieldhook/{customer}", "", "Only {tenant} can be replaced here, not {customer}."),
        ("Fieldhook\\Jobs", "", "Separate folders with /, not \\."),
        ("Jobs: 2026", "", "'Jobs: 2026' is not a folder name Nextcloud accepts as written"),
    ],
)
def test_a_root_folder_template_is_checked_and_normalised(template, cleaned, error):
    result, message = root_folder_cleaned(template)

    assert result == cleaned
    assert message.startswith(error) if error else message == ""
