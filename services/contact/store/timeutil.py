"""Integer microseconds since the epoch, the store's time format."""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def to_us(value: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> dt.datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return _EPOCH + dt.timedelta(microseconds=value)


def opt_us(value: dt.datetime | None) -> int | None:
    """to_us, passing None through."""
    return None if value is None else to_us(value)


def opt_dt(value: int | None) -> dt.datetime | None:
    """from_us, passing None through."""
    return None if value is None else from_us(value)
