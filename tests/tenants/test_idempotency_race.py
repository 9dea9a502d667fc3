"""Two requests with one Idempotency-Key at the same time, on PostgreSQL: one write, one event.

The first request is held inside its transaction (after inserting its key, while it waits
for the tenant's reference-number row, which the test holds locked); the second is sent
then and waits on the key. Both threads run on their own database connections, on
committed data."""

import threading

import pytest
from django.db import connection, connections, transaction

from integrations.models import IntegrationSync
from tests.conftest import token_client
from tests.e2e.conftest import wait_until
from tests.factories import TenantIntegrationFactory
from workitems.models import WorkItem, WorkItemSequence

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "race-0001"
BODY = {"description": "Cracked screen"}


def waiting_on_locks() -> int:
    """Backends of this test database waiting for a lock (the statistics snapshot is per
    transaction: cleared first, since the test asks from inside its own)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def send_in_thread(owner, answers: dict, name: str) -> threading.Thread:
    def run() -> None:
        try:
            response = token_client(owner).post("/api/v1/workitems/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
            answers[name] = response
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.fixture
def held_reference_counter(tenant):
    """While active, the tenant's reference-number row is locked: a create waits in its transaction."""
    WorkItemSequence.objects.get_or_create(tenant=tenant)

    class Hold:
        def __enter__(self):
            self.block = transaction.atomic()
            self.block.__enter__()
            WorkItemSequence.objects.select_for_update().get(tenant=tenant)

        def __exit__(self, *exc):
            self.block.__exit__(None, None, None)

    return Hold()


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant)


def test_two_concurrent_requests_with_one_key_make_one_workitem_and_one_event(
    owner, tenant, integration, held_reference_counter
):
    answers: dict = {}
    with held_reference_counter:
        first = send_in_thread(owner, answers, "first")
        wait_until(lambda: waiting_on_locks() >= 1)
        second = send_in_thread(owner, answers, "second")
        wait_until(lambda: waiting_on_locks() >= 2)
    first.join(timeout=30)
    second.join(timeout=30)

    assert WorkItem.objects.count() == 1
    assert IntegrationSync.objects.values("event_id").distinct().count() == 1
    assert (answers["first"].status_code, answers["second"].status_code) == (201, 201)
    assert answers["second"].content == answers["first"].content
    assert answers["second"]["Idempotent-Replayed"] == "true"


def test_a_retry_that_waits_too_long_for_the_first_request_gets_a_409(
    owner, tenant, integration, held_reference_counter, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    answers: dict = {}
    with held_reference_counter:
        first = send_in_thread(owner, answers, "first")
        wait_until(lambda: waiting_on_locks() >= 1)
        second = send_in_thread(owner, answers, "second")
        second.join(timeout=30)
    first.join(timeout=30)

    assert answers["second"].status_code == 409
    assert answers["first"].status_code == 201
    assert WorkItem.objects.count() == 1
