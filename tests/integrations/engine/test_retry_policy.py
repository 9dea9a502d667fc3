"""The retry schedule: exponential backoff with full jitter, capped, honouring Retry-After,
and defaults that keep the documented "8 attempts over about 10 hours" true."""

import datetime
import random
from email.utils import format_datetime

import pytest
from django.utils import timezone

from integrations.connectors.http import retry_after_seconds
from integrations.engine import policy
from integrations.models import TenantIntegration

HOUR = 3600
DAY = 24 * HOUR
SEEDS = range(200)


def default_of(field: str):
    return TenantIntegration._meta.get_field(field).default


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 7])
def test_a_delay_stays_within_the_full_jitter_window(attempt):
    window = 600 * 2 ** (attempt - 1)

    delays = [policy.retry_delay_seconds(attempt=attempt, base_seconds=600, rng=random.Random(s)) for s in SEEDS]

    assert all(0 <= delay <= window for delay in delays)


def test_delays_are_spread_over_the_whole_window():
    delays = [policy.retry_delay_seconds(attempt=3, base_seconds=600, rng=random.Random(s)) for s in SEEDS]

    assert min(delays) < 2400 * 0.1
    assert max(delays) > 2400 * 0.9


def test_the_same_seed_gives_the_same_delay():
    first = policy.retry_delay_seconds(attempt=4, base_seconds=600, rng=random.Random(7))
    second = policy.retry_delay_seconds(attempt=4, base_seconds=600, rng=random.Random(7))

    assert first == second


def test_the_window_is_capped_at_a_day():
    delays = [policy.retry_delay_seconds(attempt=30, base_seconds=600, rng=random.Random(s)) for s in SEEDS]

    assert max(delays) <= DAY
    assert max(delays) > DAY * 0.9


@pytest.mark.parametrize("seed", range(20))
def test_a_delay_is_never_shorter_than_retry_after(seed):
    delay = policy.retry_delay_seconds(attempt=1, base_seconds=600, retry_after=450, rng=random.Random(seed))

    assert delay >= 450


def test_a_huge_retry_after_is_capped_by_the_setting(settings):
    delay = policy.retry_delay_seconds(attempt=1, base_seconds=600, retry_after=30 * DAY, rng=random.Random(1))

    assert delay == settings.HTTP_RETRY_AFTER_MAX_SECONDS == HOUR


def test_retry_after_may_be_seconds_or_an_http_date():
    in_ten_minutes = format_datetime(timezone.now() + datetime.timedelta(minutes=10), usegmt=True)

    assert retry_after_seconds("120") == 120
    assert 595 <= retry_after_seconds(in_ten_minutes) <= 600


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Mon, 01 Jan 99999 00:00:00 GMT"])
def test_a_missing_or_unreadable_retry_after_is_ignored(value):
    assert retry_after_seconds(value) is None


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400", "9" * 400, "86400000", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_an_endless_retry_after_is_capped_at_an_hour(value):
    assert retry_after_seconds(value) == HOUR


def test_a_retry_after_in_the_past_means_now():
    assert retry_after_seconds("-inf") == retry_after_seconds("Mon, 01 Jan 2001 00:00:00 GMT") == 0


def test_the_default_schedule_spans_about_ten_hours_on_average():
    base, attempts = default_of("retry_backoff_seconds"), default_of("max_attempts")
    windows = [min(policy.MAX_BACKOFF_SECONDS, base * 2 ** (retry - 1)) for retry in range(1, attempts)]

    expected_total = sum(window / 2 for window in windows)

    assert (base, attempts) == (600.0, 8)
    assert 9 * HOUR <= expected_total <= 12 * HOUR


def test_the_default_schedule_waits_at_most_about_21_hours_in_total():
    base, attempts = default_of("retry_backoff_seconds"), default_of("max_attempts")

    longest_total = sum(
        policy.retry_delay_seconds(attempt=retry, base_seconds=base, rng=_Highest()) for retry in range(1, attempts)
    )

    assert longest_total == pytest.approx(127 * 600)
    assert 20 * HOUR < longest_total < 22 * HOUR


def test_the_averaged_default_schedule_matches_a_simulation():
    base, attempts = default_of("retry_backoff_seconds"), default_of("max_attempts")
    rng = random.Random(2024)

    totals = [
        sum(policy.retry_delay_seconds(attempt=retry, base_seconds=base, rng=rng) for retry in range(1, attempts))
        for _ in range(2000)
    ]

    assert 9 * HOUR <= sum(totals) / len(totals) <= 12 * HOUR


class _Highest(random.Random):
    """A random source that always picks the top of the window."""

    def uniform(self, a: float, b: float) -> float:
        return b
