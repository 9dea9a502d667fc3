"""Every task has Celery soft and hard time limits above its longest legitimate run; a
delivery stopped by its soft limit is recorded as a timeout and retried. Polls have a queue
of their own, so they never take a delivery slot."""

import pytest
import responses
from celery.exceptions import SoftTimeLimitExceeded

from app.celery import celery_app
from integrations import tasks
from integrations.engine import delivery
from integrations.models import IntegrationSync, SyncAttempt
from tests.factories import TenantIntegrationFactory, WorkItemFactory

URL = "https://receiver.example.com/hook"
OUR_TASKS = sorted(name for name in celery_app.tasks if name.startswith("integrations.tasks."))


@pytest.mark.parametrize("name", OUR_TASKS)
def test_every_task_has_a_soft_limit_below_its_hard_limit(name):
    task = celery_app.tasks[name]

    assert 0 < task.soft_time_limit < task.time_limit


def test_a_drain_may_claim_for_its_time_and_then_finish_its_longest_delivery_before_the_soft_limit(settings):
    """The last delivery a drain starts: up to 12 requests, each within the request deadline."""
    longest = settings.SYNC_DRAIN_SECONDS + 12 * settings.HTTP_DEADLINE_SECONDS
    assert tasks.deliver_due.soft_time_limit > longest


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        ("integrations.tasks.poll_integrations", "polls"),
        ("integrations.tasks.poll_integration", "polls"),
        ("integrations.tasks.run_package", "polls"),
        ("integrations.tasks.deliver_due", "celery"),
        ("integrations.tasks.retry_failed_syncs", "celery"),
    ],
)
def test_polls_have_their_own_queue(name, queue):
    assert celery_app.amqp.router.route({}, name)["queue"].name == queue


def soft_limit_strikes(request):
    raise SoftTimeLimitExceeded()


@responses.activate
def test_a_delivery_stopped_by_its_soft_time_limit_is_a_timeout_and_is_retried(tenant, settings):
    responses.add_callback(responses.POST, URL, callback=soft_limit_strikes)
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": URL})
    WorkItemFactory(tenant=tenant)
    sync = IntegrationSync.objects.get(integration=integration)

    assert delivery.sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    attempt = SyncAttempt.objects.get(sync=sync)
    limit = f"{settings.SYNC_TASK_SOFT_TIME_LIMIT:g}"
    assert (attempt.error_class, attempt.succeeded) == ("timeout", False)
    assert attempt.error == f"The delivery took longer than {limit} s (SYNC_TASK_SOFT_TIME_LIMIT) and was stopped."
