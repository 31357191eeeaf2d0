"""Time windows, calendar boundaries, time zones and local hours.

Rolling windows reach back from the decision time t: a contact at c counts while
t - length < c, so it stops counting exactly `length` after it happened (the window is
reported as (t - length, t]). Rolling months are 30 days per unit. Calendar windows are
the local calendar hour/day/week (Monday first)/month containing t in the account's time
zone, reported as [start, end); an account whose zone is unknown uses UTC for calendar
windows (the boundary moves by hours, nobody is contacted at night because of it).

Times at the edges of what a datetime holds (years 1 and 9999) never raise: `shift`
saturates at EARLIEST/LATEST, a calendar unit that cannot be represented stretches to the
edge (it then counts more, never less), and local-hour checks that cannot convert a time
answer the conservative way (quiet, outside preferred hours, no later boundary).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import zoneinfo

from services.contact.domain.model import QuietHours, Window, WindowKind, WindowUnit

UTC = dt.UTC
EARLIEST = dt.datetime.min.replace(tzinfo=UTC)
"""The earliest representable instant (saturation point of `shift`)."""
LATEST = dt.datetime.max.replace(tzinfo=UTC)
"""The latest representable instant (saturation point of `shift`)."""
_UNIT_LENGTH = {
    WindowUnit.HOUR: dt.timedelta(hours=1),
    WindowUnit.DAY: dt.timedelta(days=1),
    WindowUnit.WEEK: dt.timedelta(days=7),
    WindowUnit.MONTH: dt.timedelta(days=30),
}
_UNIT_WORD = {
    WindowUnit.HOUR: "hour",
    WindowUnit.DAY: "day",
    WindowUnit.WEEK: "week",
    WindowUnit.MONTH: "month",
}
_HOURS_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclasses.dataclass(frozen=True, slots=True)
class Bounds:
    """A window evaluated at a decision time: start, end, and how contacts are matched."""

    start: dt.datetime
    end: dt.datetime
    rolling: bool

    def contains(self, at: dt.datetime) -> bool:
        """Whether a contact at `at` falls in the window.

        Rolling windows have no upper bound: a contact recorded at a later time than the
        decision (clock skew between replicas, a what-if check in the past) still counts,
        which can only make the answer stricter.
        """
        if self.rolling:
            return at > self.start
        return self.start <= at < self.end


def shift(at: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """`at + delta`, saturating at EARLIEST / LATEST instead of raising OverflowError."""
    try:
        return at + delta
    except OverflowError:
        return LATEST if delta > dt.timedelta(0) else EARLIEST


def rolling_length(window: Window) -> dt.timedelta:
    """Length of a rolling window (or of a calendar window's unit, for look-back)."""
    return _UNIT_LENGTH[window.unit] * max(window.size, 1)


def describe(window: Window) -> str:
    """Words for a window, e.g. "rolling 7 days" or "calendar month"."""
    word = _UNIT_WORD[window.unit]
    if window.kind == WindowKind.CALENDAR:
        return f"calendar {word}"
    return f"rolling {window.size} {word}{'s' if window.size != 1 else ''}"


@functools.lru_cache(maxsize=512)
def zone(name: str) -> dt.tzinfo | None:
    """The tzinfo for an IANA name; None when empty or unknown."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def is_valid_zone(name: str) -> bool:
    """Whether `name` is a known IANA time zone."""
    return zone(name) is not None


def bounds(window: Window, at: dt.datetime, tz: dt.tzinfo | None) -> Bounds:
    """The window evaluated at decision time `at` (tz used for calendar windows)."""
    if window.kind == WindowKind.ROLLING:
        return Bounds(shift(at, -rolling_length(window)), at, rolling=True)
    try:
        return _calendar_bounds(window, at, tz)
    except (OverflowError, ValueError):
        # The local unit around `at` is not representable (years 1 and 9999): the window
        # reaches to the edge of time, so it counts at least what the real one would.
        return Bounds(EARLIEST, LATEST, rolling=False)


def _calendar_bounds(window: Window, at: dt.datetime, tz: dt.tzinfo | None) -> Bounds:
    local = at.astimezone(tz or UTC)
    if window.unit == WindowUnit.HOUR:
        start = local.replace(minute=0, second=0, microsecond=0)
        end_local = start + dt.timedelta(hours=1)
    elif window.unit == WindowUnit.DAY:
        start = _midnight(local.date(), local.tzinfo)
        end_local = _midnight(local.date() + dt.timedelta(days=1), local.tzinfo)
    elif window.unit == WindowUnit.WEEK:
        monday = local.date() - dt.timedelta(days=local.weekday())
        start = _midnight(monday, local.tzinfo)
        end_local = _midnight(monday + dt.timedelta(days=7), local.tzinfo)
    else:
        first = local.date().replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        start = _midnight(first, local.tzinfo)
        end_local = _midnight(nxt, local.tzinfo)
    return Bounds(start.astimezone(UTC), end_local.astimezone(UTC), rolling=False)


def _midnight(day: dt.date, tz: dt.tzinfo | None) -> dt.datetime:
    """Local midnight of `day` in `tz` as an aware datetime."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)


def parse_hhmm(text: str) -> dt.time | None:
    """Parse "HH:MM" (00:00-23:59, or 24:00 as end of day); None when malformed."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return dt.time.max
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def parse_hour_ranges(text: str) -> list[tuple[dt.time, dt.time]] | None:
    """Parse preferred hours like "09:00-12:00, 14:00-17:30"; None when unparseable."""
    ranges: list[tuple[dt.time, dt.time]] = []
    for part in re.split(r"[,;]", text or ""):
        if not part.strip():
            continue
        match = _HOURS_RANGE.match(part)
        if not match:
            return None
        start = parse_hhmm(f"{match.group(1)}:{match.group(2)}")
        end = parse_hhmm(f"{match.group(3)}:{match.group(4)}")
        if start is None or end is None or start == end:
            return None
        ranges.append((start, end))
    return ranges or None


def _in_range(t: dt.time, start: dt.time, end: dt.time) -> bool:
    """Whether local time t is in [start, end), the range possibly wrapping midnight."""
    if start < end:
        return start <= t < end
    return t >= start or t < end


def in_quiet_hours(quiet: QuietHours, at: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether `at` falls in the quiet hours or on a quiet weekday, local to tz (True when
    `at` has no local time in tz: at the very edges of the datetime range)."""
    try:
        local = at.astimezone(tz)
    except (OverflowError, ValueError):
        return True
    if local.isoweekday() in quiet.quiet_weekdays:
        return True
    if quiet.start is None or quiet.end is None:
        return False
    return _in_range(local.time(), quiet.start, quiet.end)


def in_hour_ranges(ranges: list[tuple[dt.time, dt.time]], at: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether `at` is within any of the local hour ranges (False without a local time)."""
    try:
        local = at.astimezone(tz).time()
    except (OverflowError, ValueError):
        return False
    return any(_in_range(local, start, end) for start, end in ranges)


def boundary_candidates(
    times: list[dt.time], after: dt.datetime, tzs: list[dt.tzinfo], days: int = 9
) -> list[dt.datetime]:
    """UTC instants after `after` at which a local clock in any of `tzs` shows one of
    `times` or midnight, over the next `days` days, sorted. Allowed periods can only
    begin at such instants, so scanning them finds the next allowed time exactly."""
    marks = {*times, dt.time(0, 0)}
    found: set[dt.datetime] = set()
    for tz in tzs:
        try:
            first = after.astimezone(tz).date()
        except (OverflowError, ValueError):
            continue  # no local date at the edge of time: no boundary either
        for offset in range(days + 1):
            for mark in marks:
                if mark == dt.time.max:
                    continue
                try:
                    instant = dt.datetime.combine(first + dt.timedelta(days=offset), mark, tzinfo=tz).astimezone(UTC)
                except (OverflowError, ValueError):
                    continue
                if instant > after:
                    found.add(instant)
    return sorted(found)
