"""Time conversions: protobuf Timestamps, aware UTC datetimes and "YYYY-MM" months."""

from __future__ import annotations

import datetime as dt
import re

from google.protobuf.timestamp_pb2 import Timestamp

UTC = dt.timezone.utc
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def now_utc() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(UTC)


def from_timestamp(ts: Timestamp) -> dt.datetime:
    """An aware UTC datetime from a Timestamp."""
    return dt.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, UTC)


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
