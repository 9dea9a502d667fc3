"""Secrets are encrypted at rest and never appear in the database, logs, admin pages or API,
and key rotation keeps old rows readable until they are re-encrypted."""

import logging
from io import StringIO

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from integrations import services
from integrations.crypto import SecretsUnreadable
from integrations.engine import delivery
from integrations.models import IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, UserFactory, WorkItemFactory

URL = "https://receiver.example.com/hook"
HEADER_SECRET = "hdr-7f3a9c1e5b2d4a6f"
BASIC_PASSWORD = "pw-9d8c7b6a5f4e3d2c"
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALL_SECRETS = [HEADER_SECRET, BASIC_PASSWORD, SIGNING_SECRET, SIGNING_SECRET.removeprefix("whsec_")]


def every_stored_value() -> str:
    """Every row of every table, as text."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from introspection)
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(
        tenant=tenant,
        config={"url": URL, "sign": True, "basic_username": "fieldhook"},
        secrets={
            "headers": {"X-API-Key": HEADER_SECRET},
            "basic_password": BASIC_PASSWORD,
            "signing_secret": SIGNING_SECRET,
        },
        max_attempts=2,
    )


@responses.activate
def test_no_secret_reaches_the_database_logs_admin_or_api(integration, tenant, owner, api, caplog):
    echo = f"denied key={HEADER_SECRET} auth={BASIC_PASSWORD}"
    responses.post(URL, status=500, body=echo)
    responses.head(URL, status=401)
    caplog.set_level(logging.DEBUG)
    workitem = WorkItemFactory(tenant=tenant)
    sync = IntegrationSync.objects.get()
    for _ in range(2):
        IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=sync.created_at)
        delivery.sync_deliver(sync_id=sync.pk)
    services.integration_test_connection(integration=integration)
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    pages = [
        admin.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk])),
        admin.get(reverse("admin:integrations_tenantintegration_changelist")),
        admin.get(reverse("admin:integrations_integrationsync_changelist")),
        admin.get(reverse("admin:integrations_integrationsync_change", args=[sync.pk])),
        admin.get(reverse("admin:workitems_workitem_change", args=[workitem.pk])),
        api.get(f"/api/v1/workitems/{workitem.pk}/syncs/"),
    ]

    sync.refresh_from_db()
    assert sync.status == "failed"
    assert "[redacted]" in sync.attempt_log.first().response_excerpt
    haystacks = {"database": every_stored_value(), "logs": caplog.text}
    haystacks.update({page.wsgi_request.path: page.content.decode() for page in pages})
    for secret in ALL_SECRETS:
        for where, text in haystacks.items():
            assert secret not in text, f"{secret} leaked into {where}"


def test_secrets_are_stored_encrypted(integration):
    stored = TenantIntegration.objects.values_list("secrets_encrypted", flat=True).get(pk=integration.pk)

    assert stored.startswith("gAAAA")
    assert TenantIntegration.objects.get(pk=integration.pk).secrets["basic_password"] == BASIC_PASSWORD


def test_old_rows_still_decrypt_after_a_new_key_is_put_first(tenant, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    integration = TenantIntegrationFactory(tenant=tenant, secrets={"basic_password": BASIC_PASSWORD})

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    assert TenantIntegration.objects.get(pk=integration.pk).secrets["basic_password"] == BASIC_PASSWORD


def test_rotate_secrets_moves_every_row_to_the_newest_key(tenant, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    integrations = [
        TenantIntegrationFactory(tenant=tenant, secrets={"basic_password": f"pw-{n}-long"}) for n in range(3)
    ]
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    out = StringIO()
    call_command("rotate_secrets", stdout=out, stderr=StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]

    assert "Re-encrypted the secrets of 3 integration(s)" in out.getvalue()
    assert [TenantIntegration.objects.get(pk=i.pk).secrets["basic_password"] for i in integrations] == [
        "pw-0-long",
        "pw-1-long",
        "pw-2-long",
    ]


def test_without_the_old_key_secrets_are_unreadable_and_rotation_says_which(tenant, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    integration = TenantIntegrationFactory(tenant=tenant, secrets={"basic_password": BASIC_PASSWORD})
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(SecretsUnreadable):
        TenantIntegration.objects.get(pk=integration.pk).secrets  # noqa: B018 (the property read is the test)
    with pytest.raises(CommandError, match=f"ids {integration.pk}"):
        call_command("rotate_secrets", stdout=StringIO(), stderr=StringIO())
