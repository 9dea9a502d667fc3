"""A worker keeps its claim on a batch while it delivers, and never takes back a claim it
lost (renewals run on their own thread, so these tests commit what it must see)."""

import datetime

import pytest
from django.utils import timezone

from integrations.engine import resilience
from integrations.engine.claims import KeptClaim
from integrations.models import IntegrationSync
from tests.e2e.conftest import wait_until
from tests.factories import TenantIntegrationFactory, WorkItemFactory

pytestmark = pytest.mark.django_db(transaction=True)
CLAIM_SECONDS = 0.3


@pytest.fixture
def claimed(tenant, settings) -> IntegrationSync:
    """A sync claimed for CLAIM_SECONDS, with its place in the bulkhead (a cap of one)."""
    settings.SYNC_CLAIM_SECONDS = CLAIM_SECONDS
    settings.INTEGRATION_MAX_IN_FLIGHT = 1
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": "https://receiver.example.com/hook"})
    WorkItemFactory(tenant=tenant)
    sync = IntegrationSync.objects.get(integration=integration)
    sync.claimed_until = timezone.now() + datetime.timedelta(seconds=CLAIM_SECONDS)
    sync.save(update_fields=["claimed_until"])
    assert resilience.inflight_acquire(integration, str(sync.pk))
    return sync


def kept(sync: IntegrationSync) -> KeptClaim:
    """The claim on a batch of this one sync, kept alive with its place in the bulkhead."""
    claim = KeptClaim([sync.pk], sync.claimed_until)
    claim.hold_place(sync.integration, str(sync.pk))
    claim.keep()
    return claim


def claim_of(sync: IntegrationSync) -> datetime.datetime | None:
    return IntegrationSync.objects.values_list("claimed_until", flat=True).get(pk=sync.pk)


def test_a_claim_outlives_its_first_lapse_while_the_block_runs(claimed):
    first_lapse = claimed.claimed_until

    claim = kept(claimed)
    wait_until(lambda: timezone.now() > first_lapse + datetime.timedelta(seconds=CLAIM_SECONDS), timeout=5)

    assert claim_of(claimed) > timezone.now()
    assert not resilience.inflight_acquire(claimed.integration, "another worker")
    assert claim.current() == claim_of(claimed)


def test_a_renewal_never_takes_back_a_claim_someone_else_now_holds(claimed):
    theirs = timezone.now() + datetime.timedelta(minutes=5)

    claim = kept(claimed)
    IntegrationSync.objects.filter(pk=claimed.pk).update(claimed_until=theirs)
    wait_until(lambda: timezone.now() > claimed.claimed_until + datetime.timedelta(seconds=CLAIM_SECONDS))

    assert claim_of(claimed) == theirs
    claim.current()


def test_nothing_is_renewed_once_the_outcome_is_being_recorded(claimed):
    kept(claimed).current()

    wait_until(lambda: timezone.now() > claimed.claimed_until + datetime.timedelta(seconds=CLAIM_SECONDS))

    assert claim_of(claimed) == claimed.claimed_until
