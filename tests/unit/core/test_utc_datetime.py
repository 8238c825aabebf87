"""The UTC column type: UTC instants pass as they are, others are converted, naive refused."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from storage.models import UTCDateTime

MADRID_SUMMER = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("given", "bound"),
    [
        (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), datetime(2026, 6, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 6, 1, 10, 0, tzinfo=MADRID_SUMMER), datetime(2026, 6, 1, 8, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_bound_values_are_utc(given: datetime | None, bound: datetime | None) -> None:
    value = UTCDateTime().process_bind_param(given, None)
    assert value == bound
    assert value is None or value.tzinfo is UTC


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 6, 1, 8, 0), None)
