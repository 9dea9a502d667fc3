"""Command-line arguments the integrations' management commands share."""

import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def since_argument(value: str, *, option: str = "--since") -> datetime.datetime:
    """A date (YYYY-MM-DD: its start, UTC) or an ISO 8601 datetime (naive: UTC)."""
    try:
        moment = parse_datetime(value)
        day = None if moment else parse_date(value)
    except ValueError:  # well formed but impossible, e.g. 2024-02-30
        moment = day = None
    if moment is None:
        if day is None:
            raise CommandError(f"{option}: '{value}' is not a date (YYYY-MM-DD) or ISO 8601 datetime.")
        moment = datetime.datetime.combine(day, datetime.time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)
