"""Time conversions: protobuf Timestamps, aware UTC datetimes and "YYYY-MM" months.

A Timestamp on the wire can hold any int64 seconds and int32 nanos; a datetime only
0001-01-01 to 9999-12-31. `from_timestamp` never lets OverflowError / ValueError / OSError
escape (they would answer INTERNAL): a Timestamp no datetime can hold raises InvalidArgument
naming the field. Requests should go further and check the suite's documented range with
`time_field` (collects a violation) or `checked_time` (raises), which apply
`bounds.check_timestamp` and convert in one step.
"""

from __future__ import annotations

import datetime as dt
import re

from google.protobuf.timestamp_pb2 import Timestamp

from telco360_runtime import bounds
from telco360_runtime.errors import FieldViolation, InvalidArgument, ViolationCollector

UTC = dt.UTC
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
# The Timestamp seconds a datetime can hold: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
MIN_DATETIME_SECONDS = -62_135_596_800
MAX_DATETIME_SECONDS = 253_402_300_799


def now_utc() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(UTC)


def from_timestamp(ts: Timestamp, field: str = "timestamp") -> dt.datetime:
    """An aware UTC datetime from a Timestamp (nanos truncated to microseconds, exactly).

    Raises InvalidArgument naming `field` (reason OUT_OF_RANGE) when no datetime can hold
    the value: seconds outside 0001-01-01..9999-12-31 or nanos outside 0..999,999,999.
    """
    if not 0 <= ts.nanos < 1_000_000_000:
        raise InvalidArgument(FieldViolation(field, "nanos must be between 0 and 999,999,999", bounds.OUT_OF_RANGE))
    if not MIN_DATETIME_SECONDS <= ts.seconds <= MAX_DATETIME_SECONDS:
        raise InvalidArgument(
            FieldViolation(
                field, f"must be between 0001-01-01 and 9999-12-31 UTC (got {ts.seconds} seconds)", bounds.OUT_OF_RANGE
            )
        )
    # Integer arithmetic: float seconds lose microseconds far from 1970 and overflow time_t.
    return _EPOCH + dt.timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)


def time_field(
    out: ViolationCollector,
    field: str,
    ts: Timestamp,
    *,
    required: bool = False,
    earliest: dt.datetime = bounds.EARLIEST_TIME,
    latest: dt.datetime = bounds.LATEST_TIME,
) -> dt.datetime | None:
    """A request Timestamp as a datetime, checked with `bounds.check_timestamp` semantics.

    Returns None when the field is unset (and not required) or when it is out of range; in
    the latter case the violation is recorded in `out`, so a request reports all at once.
    """
    if not bounds.check_timestamp(out, field, ts, required=required, earliest=earliest, latest=latest):
        return None
    return from_timestamp(ts, field) if is_set(ts) else None


def checked_time(
    field: str,
    ts: Timestamp,
    *,
    required: bool = False,
    earliest: dt.datetime = bounds.EARLIEST_TIME,
    latest: dt.datetime = bounds.LATEST_TIME,
) -> dt.datetime | None:
    """Like `time_field`, but raises InvalidArgument at once (None only when unset)."""
    out = ViolationCollector()
    value = time_field(out, field, ts, required=required, earliest=earliest, latest=latest)
    out.raise_if_any()
    return value


def to_timestamp(value: dt.datetime) -> Timestamp:
    """A Timestamp from a datetime (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def is_set(ts: Timestamp) -> bool:
    """Whether a Timestamp field was given (proto3 zero value means unset)."""
    return ts.seconds != 0 or ts.nanos != 0


def parse_month(value: str) -> tuple[int, int] | None:
    """(year, month) for a valid "YYYY-MM", else None."""
    match = _MONTH.match(value or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return (year, month) if 1 <= month <= 12 and 1900 <= year <= 2999 else None


def month_of(value: dt.datetime) -> str:
    """The "YYYY-MM" month a datetime falls in (UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m")


def month_index(month: str) -> int:
    """A month as a running count (year*12 + month-1), for arithmetic."""
    parsed = parse_month(month)
    if parsed is None:
        raise ValueError(f"not a YYYY-MM month: {month!r}")
    return parsed[0] * 12 + parsed[1] - 1


def month_from_index(index: int) -> str:
    """Inverse of `month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(month: str) -> dt.datetime:
    """First instant of a month in UTC."""
    index = month_index(month)
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def add_months(month: str, count: int) -> str:
    """The month `count` months after (or before, if negative) `month`."""
    return month_from_index(month_index(month) + count)
