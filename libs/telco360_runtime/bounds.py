"""The suite's documented input bounds and the checks every service applies before work.

One vocabulary for every service: limits on money, counts, usage, times, text and lists,
the reason codes a violation carries, and `preview()` so that an error never echoes more
than a short prefix of a bad value (a 100 KB id must not come back inside status details,
where it would overflow the metadata limit and hide the real answer).

Checks append to a `ViolationCollector` so a request reports every violation at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sized
from typing import Any

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from telco360_runtime.errors import ViolationCollector

# Reason codes: the catalogue lives in reasons.py; these names stay importable from here.
from telco360_runtime.reasons import (
    BAD_FORMAT,
    NOT_FINITE,
    OUT_OF_RANGE,
    REQUIRED,
    TOO_LONG,
    TOO_MANY,
    UNDECODABLE,  # noqa: F401 - re-exported
    UNKNOWN_ENUM,
)

# --- business ranges -------------------------------------------------------------------
# 10^13 fen = 100 billion yuan: above any single monthly bill or ICT contract of a key account,
# and small enough that sums over 10^5 accounts x 10^3 months stay inside a signed 64-bit integer.
MAX_MONEY_FEN = 10**13
# Usage quantities (minutes, GB, SMS, device-days): 10^15 billing units per month is far above
# any account; keeps sums finite and exact in float64 aggregates.
MAX_QUANTITY = 1e15
# Counts in a request (page sizes, batch sizes, headcounts).
MAX_COUNT = 10**9

# --- times -----------------------------------------------------------------------------
# Every timestamp a request carries must fall in this range (UTC): months are valid from
# 1900 (timeconv.parse_month), organisations founded before 1970 exist, and nothing is
# planned past 2200. Far from datetime's limits, so arithmetic on days never overflows.
EARLIEST_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
EARLIEST_SECONDS = int(EARLIEST_TIME.timestamp())
LATEST_SECONDS = int(LATEST_TIME.timestamp())

# --- text and lists --------------------------------------------------------------------
ID_MAX = 64  # identifiers (account, person, offer, policy, campaign, model ids)
NAME_MAX = 200  # names and titles
SHORT_TEXT_MAX = 500  # reasons, sources, labels
TEXT_MAX = 4000  # descriptions, notes, summaries
EXPRESSION_MAX = 4000  # tag / segment / eligibility expressions
LIST_MAX = 1000  # items in a repeated field unless a field names its own limit

# A list answer stops adding items before its encoded size passes this (message.ByteSize()):
# gRPC clients in every language default to a 4 MiB receive limit, so pages stay below it
# whatever the server's own max_message_mb, and the page token resumes after the last item.
PAGE_MAX_BYTES = 3 * 1024 * 1024

PREVIEW_CHARS = 40


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying how long it was when cut."""
    if len(text) <= limit:
        return text
    note = f"… ({len(text)} characters)"
    return text[: max(limit - len(note), 0)] + note


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A short, safe rendering of a bad value for an error message (never the whole value)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    shown = text[:limit]
    return f"{shown!r}… ({len(text)} characters)" if isinstance(value, str) else f"{shown}… ({len(text)} characters)"


def check_text(out: ViolationCollector, field: str, value: str, *, max_len: int, required: bool = False) -> bool:
    """Required / length check of a text field; True when the value is acceptable."""
    if not value:
        if required:
            out.add(field, "is required", REQUIRED)
            return False
        return True
    if len(value) > max_len:
        out.add(field, f"must be at most {max_len} characters (got {len(value)})", TOO_LONG)
        return False
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL, and no business text needs it.
        out.add(field, "must not contain NUL (0x00) characters", BAD_FORMAT)
        return False
    return True


def check_count(out: ViolationCollector, field: str, items: Sized, *, max_items: int = LIST_MAX) -> bool:
    """Bound the number of items in a repeated field."""
    if len(items) > max_items:
        out.add(field, f"must have at most {max_items} items (got {len(items)})", TOO_MANY)
        return False
    return True


def check_int(out: ViolationCollector, field: str, value: int, *, lo: int = 0, hi: int = MAX_COUNT) -> bool:
    """An integer inside [lo, hi]."""
    if value < lo or value > hi:
        out.add(field, f"must be between {lo} and {hi} (got {preview(value)})", OUT_OF_RANGE)
        return False
    return True


def check_float(
    out: ViolationCollector, field: str, value: float, *, lo: float = 0.0, hi: float = MAX_QUANTITY
) -> bool:
    """A finite float inside [lo, hi]."""
    if not math.isfinite(value):
        out.add(field, "must be a finite number", NOT_FINITE)
        return False
    if value < lo or value > hi:
        out.add(field, f"must be between {lo:g} and {hi:g} (got {value:g})", OUT_OF_RANGE)
        return False
    return True


def check_enum(
    out: ViolationCollector,
    field: str,
    value: int,
    enum: EnumDescriptor,
    *,
    required: bool = False,
) -> bool:
    """An enum value the contract defines (proto3 keeps unknown numbers: reject them here).

    With `required`, the zero value (`*_UNSPECIFIED`) is refused too.
    """
    if value not in enum.values_by_number:
        names = ", ".join(v.name for v in enum.values if v.number != 0 or not required)
        out.add(field, f"unknown value {value}; expected one of {names}", UNKNOWN_ENUM)
        return False
    if required and value == 0:
        out.add(field, "is required", REQUIRED)
        return False
    return True


def check_timestamp(
    out: ViolationCollector,
    field: str,
    ts: Timestamp,
    *,
    required: bool = False,
    earliest: dt.datetime = EARLIEST_TIME,
    latest: dt.datetime = LATEST_TIME,
) -> bool:
    """A set Timestamp inside [earliest, latest) with valid nanos; unset passes unless required."""
    if ts.seconds == 0 and ts.nanos == 0:
        if required:
            out.add(field, "is required", REQUIRED)
            return False
        return True
    if not 0 <= ts.nanos < 1_000_000_000:
        out.add(field, "nanos must be between 0 and 999,999,999", OUT_OF_RANGE)
        return False
    lo, hi = int(earliest.timestamp()), int(latest.timestamp())
    if ts.seconds < lo or ts.seconds >= hi:
        out.add(
            field,
            f"must be between {earliest:%Y-%m-%d} and {latest:%Y-%m-%d} UTC (got {ts.seconds} seconds)",
            OUT_OF_RANGE,
        )
        return False
    return True


def all_in(values: Iterable[int], allowed: Iterable[int]) -> bool:
    """Whether every value is one of `allowed`."""
    allowed_set = set(allowed)
    return all(v in allowed_set for v in values)
