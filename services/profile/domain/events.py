"""Account event kinds and tag-change causes (numbers match telco360.profile.v1 enums)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_CREATED = 1
ACCOUNT_UPDATED = 2
ACCOUNT_TERMINATED = 3
ACCOUNT_REACTIVATED = 4
TAG_ASSIGNED = 5
TAG_REMOVED = 6
RISK_BAND_CHANGED = 7
BILL_ISSUED = 8
SERVICE_EVENT = 9
INTERACTION = 10
SUBSCRIPTION_CHANGED = 11
OPPORTUNITY_CHANGED = 12
COMPETITOR_INTEL = 13
ACCOUNT_ERASED = 14

CAUSE_ACCOUNT_CHANGE = 1
CAUSE_DEFINITION_CHANGE = 2
CAUSE_WINDOW_EXPIRY = 3
CAUSE_SCORE_CHANGE = 4
CAUSE_BASE_REFRESH = 5
CAUSE_ERASURE = 6

# Record kind -> event published when such a record arrives (master data handled apart).
RECORD_EVENTS = {
    "billing": BILL_ISSUED,
    "service_event": SERVICE_EVENT,
    "interaction": INTERACTION,
    "subscription": SUBSCRIPTION_CHANGED,
    "opportunity": OPPORTUNITY_CHANGED,
    "competitor": COMPETITOR_INTEL,
}

# Payload fields safe to publish in event details (never personal data or free text).
DETAIL_FIELDS = {
    "billing": ("month", "product_line", "fee_fen", "payment_status", "days_overdue"),
    "service_event": ("type", "product_line", "severity"),
    "interaction": ("channel", "duration_minutes"),
    "subscription": ("product_code", "product_line", "action", "quantity", "monthly_fee_fen"),
    "opportunity": ("opportunity_id", "stage", "budget_fen"),
    "competitor": ("competitor", "active_approach", "contract_end_month"),
}


@dataclass
class AccountEvent:
    """An event to publish on the account feed."""

    customer_id: str
    type: int
    occurred_at: dt.datetime
    tag_id: str = ""
    rule_version: int = 0
    previous_risk_band: int = 0
    risk_band: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    source_sequence: int = 0


def record_details(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The non-personal details of a record for its event."""
    return {k: payload[k] for k in DETAIL_FIELDS.get(kind, ()) if k in payload}
