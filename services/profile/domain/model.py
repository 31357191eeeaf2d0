"""Domain types of profile: log records as applied, merged accounts and facts.

Payloads are plain dicts of Python values (enums as their integer numbers, months as
"YYYY-MM", times as aware UTC datetimes), produced from ingest records by the consumer's
converter, so the domain never sees protobuf.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

LINE_NAMES: dict[int, str] = {
    1: "voice",
    2: "mobile_data",
    3: "broadband",
    4: "dedicated_line",
    5: "cloud",
    6: "iot",
    7: "ict_project",
}
TIER_NAMES: dict[int, str] = {1: "DIAMOND", 2: "EMERALD", 3: "PLATINUM", 4: "SAPPHIRE", 5: "GOLD", 6: "CRYSTAL"}
RISK_BAND_NAMES: dict[int, str] = {1: "LOW", 2: "MEDIUM", 3: "HIGH"}

# Enum numbers of the ingest contract used by domain logic.
PAYMENT_PAID, PAYMENT_OVERDUE, PAYMENT_WRITTEN_OFF = 1, 3, 4
EVENT_COMPLAINT, EVENT_FAULT, EVENT_SERVICE_CALL, EVENT_SURVEY = 1, 2, 3, 4
CHANNEL_VISIT = 1
STAGE_WON, STAGE_LOST = 5, 6
SUB_ADDED, SUB_CHANGED, SUB_REMOVED = 1, 2, 3
LIFECYCLE_TERMINATED, LIFECYCLE_REACTIVATED = 1, 2
CONTACT_DECISION_MAKER = 1

STATUS_ACTIVE, STATUS_TERMINATED = 1, 2


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One ingest log entry as profile applies it."""

    sequence: int
    source: str
    source_record_id: str
    version: int
    customer_id: str
    occurred_at: dt.datetime
    ingested_at: dt.datetime
    kind: str
    payload: dict[str, Any]
    erased: bool = False
    """Ingest marks the account erased: the payload's personal fields are blanked, and an account
    profile does not know as erased becomes erased (a rebuild from the log keeps it erased)."""


@dataclass(frozen=True, slots=True)
class Fact:
    """A non-billing record version visible at some moment (payload plus its times)."""

    kind: str
    occurred_at: dt.datetime
    sequence: int
    source: str
    payload: dict[str, Any]


@dataclass
class MergedAccount:
    """Master data of an account merged from all its visible account records."""

    customer_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    field_sources: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    status: int = STATUS_ACTIVE
    terminated_at: dt.datetime | None = None
    termination_reason: int = 0
    first_seen_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Latest churn/value scores of an account as published by scoring."""

    customer_id: str
    churn_probability: float
    risk_band: int
    predicted_value_fen: int
    value_horizon_months: int
    model_version: str
    scored_at: dt.datetime
    reasons: tuple[tuple[str, str, float], ...] = ()
    # ValueAnalytics as a dict with the proto's field names (None before scoring's first base
    # analytics run): lifetime_value, rfm, cluster, outlier, run_id.
    analytics: dict[str, Any] | None = None
