"""Valid sample records of every kind, as domain dicts and as protobuf messages."""

from __future__ import annotations

import copy
import time
from typing import Any

from services.ingest.api.converters import dict_to_record
from telco360.ingest.v1 import ingest_pb2

NOW = time.time()
OCCURRED = {"seconds": int(NOW) - 86_400 * 30}
THIS_MONTH = time.strftime("%Y-%m", time.gmtime(NOW))
VALID_CREDIT_CODE = "91350100M000100Y43"

PAYLOADS: dict[str, dict[str, Any]] = {
    "account": {
        "name": "Shenzhen Metro Group",
        "credit_code": VALID_CREDIT_CODE,
        "parent_customer_id": "GROUP-001",
        "industry": "TRANSPORT",
        "region": "Guangdong/Shenzhen",
        "tier": "ACCOUNT_TIER_PLATINUM",
        "account_manager_id": "AM-007",
        "contract_start_month": "2023-01",
        "contract_end_month": "2026-12",
        "employee_count": 12000,
        "time_zone": "Asia/Shanghai",
        "attributes": {
            "campus_count": {"number_value": 4.0},
            "state_owned": {"bool_value": True},
            "segment": {"string_value": "transport-large"},
        },
    },
    "contact": {
        "person_id": "P-1",
        "name": "Li Wei",
        "role": "IT director",
        "level": "CONTACT_LEVEL_DECISION_MAKER",
        "phone": "+8613800138000",
        "email": "li.wei@example.com",
        "preferred_hours": "09:00-12:00,14:00-17:30",
    },
    "billing": {
        "month": "2024-05",
        "product_line": "PRODUCT_LINE_DEDICATED_LINE",
        "fee_fen": 1_250_000,
        "usage_quantity": 1000.0,
        "usage_unit": "Mbps",
        "lines": 4,
        "payment_status": "PAYMENT_STATUS_OVERDUE",
        "days_overdue": 12,
    },
    "subscription": {
        "product_code": "DL-100M",
        "product_line": "PRODUCT_LINE_DEDICATED_LINE",
        "action": "SUBSCRIPTION_ACTION_ADDED",
        "quantity": 2,
        "monthly_fee_fen": 300_000,
    },
    "service_event": {
        "type": "SERVICE_EVENT_TYPE_SATISFACTION_SURVEY",
        "product_line": "PRODUCT_LINE_CLOUD",
        "survey_answers": {"q1": 4, "q2": 5, "overall": 3},
        "summary": "annual survey",
    },
    "interaction": {
        "channel": "INTERACTION_CHANNEL_VISIT",
        "recorded_by": "AM-007",
        "person_id": "P-1",
        "notes": "discussed SD-WAN upgrade",
        "duration_minutes": 45,
    },
    "competitor": {
        "competitor": "China Unicom",
        "product_lines": ["PRODUCT_LINE_BROADBAND"],
        "satisfaction": 2,
        "contract_end_month": "2027-03",
        "active_approach": True,
    },
    "opportunity": {
        "opportunity_id": "OPP-9",
        "need": "campus private 5G",
        "budget_fen": 500_000_000,
        "decision_maker_ids": ["P-1"],
        "expected_close_month": "2026-09",
        "stage": "OPPORTUNITY_STAGE_PROPOSAL",
        "product_lines": ["PRODUCT_LINE_ICT_PROJECT"],
    },
    "lifecycle": {
        "action": "LIFECYCLE_ACTION_TERMINATED",
        "reason": "TERMINATION_REASON_COMPETITOR",
        "detail": "moved to a competitor",
    },
    "cost": {
        "month": "2024-05",
        "product_line": "PRODUCT_LINE_DEDICATED_LINE",
        "cost_type": "COST_TYPE_NETWORK",
        "amount_fen": 700_000,
        "note": "transmission share, allocated by bandwidth",
        "reference": "CC-4410",
    },
}


def raw(
    kind: str, source_record_id: str = "r-1", *, source: str = "crm", customer_id: str = "C-001", **payload_changes: Any
) -> dict[str, Any]:
    """A valid record dict of `kind`, with payload fields replaced (None removes one)."""
    payload = copy.deepcopy(PAYLOADS[kind])
    for name, value in payload_changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return {
        "source": source,
        "source_record_id": source_record_id,
        "customer_id": customer_id,
        "occurred_at": dict(OCCURRED),
        kind: payload,
    }


def record(kind: str, source_record_id: str = "r-1", **changes: Any) -> ingest_pb2.Record:
    """A valid Record message of `kind` (see `raw`)."""
    return dict_to_record(raw(kind, source_record_id, **changes))


def billing(i: int, fee_fen: int = 1000, *, source: str = "billing") -> ingest_pb2.Record:
    """The i-th billing record of a simple series (distinct ids and customers)."""
    return record(
        "billing",
        f"b-{i}",
        source=source,
        customer_id=f"C-{i % 50}",
        fee_fen=fee_fen,
        payment_status="PAYMENT_STATUS_PAID",
        days_overdue=None,
    )
