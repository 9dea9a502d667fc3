"""What bounds a poll: a page cap whatever `total` OpenProject claims, one poll at a time per
integration, the integration's circuit breaker and rate limit, and the poll task's time limit."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from integrations import tasks
from integrations.connectors import http
from integrations.engine import resilience
from integrations.inbound.polling import integration_poll
from tests.integrations.connectors.openproject.test_polling import WORK_PACKAGES, linked_work_items, reloaded

HUGE = 10**12


@pytest.fixture
def linked(fake_openproject, openproject_integration):
    return lambda count: linked_work_items(openproject_integration, fake_openproject, count)


# --- Pages ----------------------------------------------------------------------------------


def test_a_poll_stops_after_its_page_cap_when_openproject_claims_a_huge_total_and_keeps_answering(
    fake_openproject, openproject_integration, linked
):
    linked(100)
    for package_id in range(2, 101):  # gone from OpenProject: each page has the one left
        del fake_openproject.work_packages[package_id]
    fake_openproject.claimed_total, fake_openproject.ignores_offset = HUGE, True

    result = integration_poll(integration=openproject_integration)

    assert len(fake_openproject.calls("GET", WORK_PACKAGES)) == 2  # ceil(100 / 100) + 1
    assert result == (
        f"Poll failed: OpenProject kept sending pages (it claims {HUGE} work packages for 100 ids); "
        "the poll stopped after 2 pages."
    )


def test_a_huge_claimed_total_costs_no_extra_page_once_every_id_was_answered(
    fake_openproject, openproject_integration, linked
):
    linked(250)
    fake_openproject.claimed_total = HUGE

    result = integration_poll(integration=openproject_integration)

    assert len(fake_openproject.calls("GET", WORK_PACKAGES)) == 3
    assert result == "Checked 250 linked work packages: 0 updated, 250 unchanged."


def test_a_smaller_page_size_set_on_the_server_is_followed_within_the_cap(
    fake_openproject, openproject_integration, linked
):
    linked(250)
    fake_openproject.max_page_size = 45

    result = integration_poll(integration=openproject_integration)

    assert len(fake_openproject.calls("GET", WORK_PACKAGES)) == 3 + 3 + 2
    assert result == "Checked 250 linked work packages: 0 updated, 250 unchanged."


# --- One at a time, through the breaker and the rate limit ------------------------------------


def test_a_poll_of_an_integration_already_being_polled_does_nothing(fake_openproject, openproject_integration, linked):
    linked(1)

    with resilience.integration_exclusive(openproject_integration, work="poll", seconds=60) as held:
        assert held
        assert tasks.poll_integration(openproject_integration.pk) == "poll_in_progress"
    assert fake_openproject.requests == []
    assert reloaded(openproject_integration).last_polled_at is None  # still due: the next beat tick polls
    assert tasks.poll_integration(openproject_integration.pk).startswith("Checked 1 linked")


def test_a_poll_waits_while_the_circuit_is_open(fake_openproject, openproject_integration, linked):
    linked(1)
    for _ in range(5):
        resilience.circuit_record(openproject_integration, error_class="http_5xx")

    assert tasks.poll_integration(openproject_integration.pk) == "circuit_open"
    assert fake_openproject.requests == []
    assert reloaded(openproject_integration).last_polled_at is None


def test_a_failed_poll_counts_against_the_circuit(fake_openproject, openproject_integration, linked, settings):
    settings.CIRCUIT_FAILURE_THRESHOLD = 1
    linked(1)
    fake_openproject.fail_next("GET", WORK_PACKAGES, status=503, times=3)

    assert tasks.poll_integration(openproject_integration.pk).startswith("Poll failed")
    assert resilience.circuit_state(openproject_integration).state == "open"


def test_a_successful_poll_closes_the_circuit(fake_openproject, openproject_integration, linked):
    linked(1)
    for _ in range(3):
        resilience.circuit_record(openproject_integration, error_class="timeout")

    integration_poll(integration=openproject_integration)

    for _ in range(4):
        resilience.circuit_record(openproject_integration, error_class="timeout")
    assert resilience.circuit_state(openproject_integration).state == "closed"


def test_a_poll_waits_out_a_rate_limit_pause(fake_openproject, openproject_integration, linked):
    linked(1)
    resilience.rate_limit_pause(openproject_integration, 30)

    assert tasks.poll_integration(openproject_integration.pk) == "rate_limited"
    assert fake_openproject.requests == []


# --- Time limit -----------------------------------------------------------------------------


def test_a_poll_stopped_by_its_soft_time_limit_records_why(
    fake_openproject, openproject_integration, linked, monkeypatch, settings
):
    linked(1)
    fake_openproject.fail_next("GET", WORK_PACKAGES, status=503)

    def time_is_up(seconds: float) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(http, "_sleep", time_is_up)  # the limit strikes between two tries

    result = tasks.poll_integration(openproject_integration.pk)

    limit = f"{settings.POLL_TASK_SOFT_TIME_LIMIT:g}"
    assert result == f"Poll failed: The poll took longer than {limit} s (POLL_TASK_SOFT_TIME_LIMIT) and was stopped."
    assert reloaded(openproject_integration).last_poll_result == result
