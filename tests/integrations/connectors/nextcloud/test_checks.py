"""'Test connection' and 'Send test event': what they tell about the server, without writing."""

from integrations.engine.delivery import sync_deliver
from integrations.services import integration_send_test_event, integration_test_connection
from tests.fakes.nextcloud import EMAIL

from .helpers import configure


def writes(fake) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in ("MKCOL", "PUT", "POST")]


def test_test_connection_reports_the_version_and_the_root_folder(fake_nextcloud, nextcloud_integration):
    assert integration_test_connection(integration=nextcloud_integration) == (
        True,
        "Connected to Nextcloud 31.0.8 as 'fieldhook'; the folder /Fieldhook will be created on the first delivery.",
    )
    assert [(r.method, r.path) for r in fake_nextcloud.requests] == [
        ("GET", "/ocs/v2.php/cloud/capabilities"),
        ("PROPFIND", "/"),
        ("PROPFIND", "/Fieldhook"),
    ]


def test_test_connection_says_when_the_root_folder_exists(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.add_folder("/Fieldhook")

    succeeded, message = integration_test_connection(integration=nextcloud_integration)

    assert succeeded
    assert message.endswith("; the folder /Fieldhook exists.")


def test_test_connection_warns_that_links_need_a_password_on_this_server(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, public_link=True)
    fake_nextcloud.link_password_enforced = True

    succeeded, message = integration_test_connection(integration=nextcloud_integration)

    assert succeeded
    assert message.endswith(
        "This server requires a password on public links and Fieldhook creates them without one: "
        "turn off 'Public link' here or the password enforcement there."
    )


def test_test_connection_warns_that_group_sharing_is_off(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, share_with="technicians", share_type="group")
    fake_nextcloud.group_sharing = False

    assert integration_test_connection(integration=nextcloud_integration)[1].endswith(
        "Sharing with groups is turned off on this server."
    )


def test_test_connection_reports_a_wrong_app_password(fake_nextcloud, nextcloud_integration):
    fake_nextcloud.app_passwords = {"another"}

    assert integration_test_connection(integration=nextcloud_integration) == (
        False,
        "Nextcloud refused the app password of 'fieldhook' (HTTP 401, OCS 997): Current user is not logged in. "
        "Create a new app password (Personal settings › Security › Devices & sessions) and enter it in the integration.",
    )


def test_test_connection_reports_a_login_name_that_is_not_the_user_id(fake_nextcloud, nextcloud_integration):
    configure(nextcloud_integration, username=EMAIL)

    succeeded, message = integration_test_connection(integration=nextcloud_integration)

    assert not succeeded
    assert message == (
        f"Nextcloud 31.0.8 has no files for user '{EMAIL}' (HTTP 404): check the User field, it must be the "
        "user id (Administration settings › Users shows it)."
    )


def test_test_connection_without_a_stored_app_password_says_so(fake_nextcloud, nextcloud_integration):
    nextcloud_integration.secrets = {}
    nextcloud_integration.save()

    assert integration_test_connection(integration=nextcloud_integration) == (
        False,
        "No Nextcloud app password is stored: enter one in the integration's settings.",
    )
    assert fake_nextcloud.requests == []


def test_the_test_event_checks_the_server_and_writes_nothing(fake_nextcloud, nextcloud_integration):
    sync = integration_send_test_event(integration=nextcloud_integration)

    sync_deliver(sync_id=sync.pk)

    sync.refresh_from_db()
    assert sync.status == "synced"
    assert sync.attempt_log.get().response_excerpt == (
        "Connected to Nextcloud 31.0.8 as 'fieldhook'; the folder /Fieldhook/Acme Repairs will be created on the "
        "first delivery."
    )
    assert writes(fake_nextcloud) == []
