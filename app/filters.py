"""Query-string filters shared by the API's filter sets."""

from datetime import UTC, timedelta

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

# The UTC offsets time zones use; Python accepts up to ±23:59, PostgreSQL stores up to ±15:59.
EARLIEST_OFFSET = timedelta(hours=-12)
LATEST_OFFSET = timedelta(hours=14)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time with a real UTC offset, handed to queries in UTC."""

    default_error_messages = {
        "offset": "Enter a UTC offset between -12:00 and +14:00.",
        "range": "Enter a date-time from year 1 to 9999 in UTC.",
    }

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        if not EARLIEST_OFFSET <= value.utcoffset() <= LATEST_OFFSET:
            raise ValidationError(self.error_messages["offset"], code="offset")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["range"], code="range") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Every date-time filter of the API: a bad offset or year is a 400 on the parameter, not a 500."""

    field_class = UtcIsoDateTimeField
