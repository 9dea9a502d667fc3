"""What the connector contract suite needs to drive the Nextcloud kind."""

from tests.fakes.nextcloud import APP_PASSWORD, BASE_URL, USER

SETTINGS = {
    "base_url": BASE_URL,
    "username": USER,
    "app_password": APP_PASSWORD,
    "root_folder": "Fieldhook/{tenant}",
    "folder_names": "reference_and_description",
    "share_with": "technicians",
    "share_type": "group",
    "share_permissions": "edit",
    "public_link": "on",
}
SECRET_VALUES = [APP_PASSWORD]
