"""Formatting helpers: money in yuan, enum names without prefixes, timestamps, values."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar, cast

from google.protobuf.timestamp_pb2 import Timestamp

from telco360.common.v1 import common_pb2

#: A generated protobuf enum (its pyi class subclasses int).
EnumT = TypeVar("EnumT", bound=int)


def yuan(fen: int | float) -> str:
    """An amount in fen shown as yuan, e.g. 1234567 -> '¥12,345.67'."""
    return f"¥{fen / 100:,.2f}"


def yuan_short(fen: int | float) -> str:
    """An amount in fen shown compactly in yuan (k / M suffix)."""
    value = fen / 100
    if abs(value) >= 1_000_000:
        return f"¥{value / 1_000_000:.2f}M"
    if abs(value) >= 10_000:
        return f"¥{value / 1_000:.0f}k"
    return f"¥{value:,.0f}"


def _descriptor(enum_type):
    """The EnumDescriptor of a generated enum wrapper (or the descriptor itself)."""
    return getattr(enum_type, "DESCRIPTOR", enum_type)


def enum_name(enum_type, value: int) -> str:
    """The short, lower-case name of an enum value (ACCOUNT_TIER_GOLD -> gold)."""
    descriptor = _descriptor(enum_type)
    if value not in descriptor.values_by_number:
        return str(value)
    full = descriptor.values_by_number[value].name
    values = [v.name for v in descriptor.values]
    prefix = _common_prefix(values)
    return full[len(prefix) :].lower() or full.lower()


def _common_prefix(names: list[str]) -> str:
    if not names:
        return ""
    first = names[0]
    end = len(first)
    for name in names[1:]:
        end = min(end, len(name))
        while end and name[:end] != first[:end]:
            end -= 1
    prefix = first[:end]
    return prefix[: prefix.rfind("_") + 1]


def enum_value(enum_type: type[EnumT], short: str) -> EnumT:
    """Parse a short enum name (case-insensitive, e.g. 'sms') into its number."""
    descriptor = _descriptor(enum_type)
    prefix = _common_prefix([v.name for v in descriptor.values])
    wanted = short.strip().upper().replace("-", "_")
    for value in descriptor.values:
        if value.name in (wanted, prefix + wanted):
            return cast(EnumT, value.number)
    choices = ", ".join(enum_name(enum_type, v.number) for v in descriptor.values if v.number)
    raise ValueError(f"unknown {descriptor.name} {short!r}; choose one of: {choices}")


def tier(value: int) -> str:
    """Account tier name."""
    return enum_name(common_pb2.AccountTier, value)


#: The suite has three tier notions that share the six names (diamond ... crystal) and can
#: disagree on one account; every screen names which one it shows (docs/TIERS.md).
SERVICE_TIER = "service tier"
SERVICE_TIER_HINT = "assigned by the operator in master data; decides the service level"
VALUE_TIER = "value tier"
VALUE_TIER_HINT = "tag from the account's share of the base's last-12-month revenue, re-ranked as the base moves"
PREDICTED_TIER = "predicted value tier"
PREDICTED_TIER_HINT = "from the value model's predicted future revenue, cut at the model's own boundaries"


def risk(value: int) -> str:
    """Risk band name."""
    return enum_name(common_pb2.RiskBand, value)


def when(ts: Timestamp) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM' UTC, or '' when unset."""
    if not ts.seconds and not ts.nanos:
        return ""
    return dt.datetime.fromtimestamp(ts.seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")


def attr(value: common_pb2.AttributeValue) -> str:
    """An AttributeValue as display text."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return ""
    raw = getattr(value, kind)
    if kind == "number_value":
        return f"{raw:,.2f}".rstrip("0").rstrip(".") if raw != int(raw) else f"{int(raw):,}"
    return str(raw).lower() if kind == "bool_value" else str(raw)


def attr_py(value: common_pb2.AttributeValue) -> object:
    """An AttributeValue as a Python value (None when unset)."""
    kind = value.WhichOneof("kind")
    return getattr(value, kind) if kind else None


def attr_number(value: common_pb2.AttributeValue) -> float:
    """A numeric AttributeValue as a float (0.0 when unset or not a number)."""
    number = attr_py(value)
    return float(number) if isinstance(number, (int, float)) else 0.0


def parse_time(text: str) -> dt.datetime:
    """Parse 'YYYY-MM-DD', 'YYYY-MM' or an ISO timestamp (UTC when no zone)."""
    text = text.strip()
    if len(text) == 7:
        text += "-01"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date or time: {text!r} (expected YYYY-MM-DD, YYYY-MM or ISO 8601)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def percent(value: float) -> str:
    """A share 0..1 as a percentage."""
    return f"{value * 100:.1f} %"
