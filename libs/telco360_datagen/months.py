"""Month arithmetic for the generator.

Months are handled as absolute integers (``year * 12 + month - 1``) so that adding and
comparing months is integer arithmetic; they become ``"YYYY-MM"`` strings only when a
record is built. Times are whole epoch seconds in UTC.
"""

from __future__ import annotations

import calendar
import functools
import random
import re

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DAY = 86_400
#: Offset of Asia/Shanghai from UTC in seconds (China has no daylight saving time).
CST_OFFSET = 8 * 3600


def parse_month(text: str) -> int:
    """Parse ``"YYYY-MM"`` into an absolute month; raise ValueError when malformed."""
    match = _MONTH_RE.match(text)
    if not match:
        raise ValueError(f"not a month in the form YYYY-MM: {text!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


@functools.lru_cache(maxsize=4096)
def month_str(abs_month: int) -> str:
    """Format an absolute month as ``"YYYY-MM"``."""
    year, month0 = divmod(abs_month, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def calendar_month(abs_month: int) -> int:
    """Month of the year, 1-12."""
    return abs_month % 12 + 1


def days_in_month(abs_month: int) -> int:
    """Number of days in the month."""
    year, month0 = divmod(abs_month, 12)
    return calendar.monthrange(year, month0 + 1)[1]


@functools.lru_cache(maxsize=4096)
def month_start(abs_month: int) -> int:
    """Epoch seconds of the first instant of the month (UTC)."""
    year, month0 = divmod(abs_month, 12)
    return calendar.timegm((year, month0 + 1, 1, 0, 0, 0))


def month_end(abs_month: int) -> int:
    """Epoch seconds of the first instant of the next month (UTC), exclusive bound."""
    return month_start(abs_month + 1)


def billing_cutoff(abs_month: int) -> int:
    """When a month's bill is issued: midnight Beijing time at the start of the next month.

    That is 16:00 UTC on the month's last day, so the bill still falls inside its month
    and a month's records, bills included, sort before the next month's.
    """
    return month_end(abs_month) - CST_OFFSET


def working_time(rng: random.Random, abs_month: int, before: int | None = None) -> int:
    """A plausible time for a business event in the month: a weekday, 09:00-18:00 Beijing.

    ``before`` (epoch seconds) bounds the result, e.g. events of an account in the month it
    terminates happen before the termination.
    """
    start = month_start(abs_month)
    limit = month_end(abs_month) if before is None else min(before, month_end(abs_month))
    span_days = max(1, (limit - start) // _DAY)
    for _ in range(4):
        day = rng.randrange(span_days)
        weekday = (start // _DAY + day + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        if weekday < 5:
            break
    seconds = day * _DAY + rng.randrange(3600, 10 * 3600)  # 01:00-10:00 UTC
    moment = start + seconds
    if moment >= limit:
        moment = max(start, limit - 1 - rng.randrange(3600))
    return moment
