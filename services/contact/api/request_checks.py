"""Bounds of every field of every contact request, checked in one place before any work.

Driven by the message descriptors (the shared walker, telco360_runtime.request_bounds), so no
field can be forgotten: every set field of a
request (nested messages, repeated fields and maps included) is checked by its type:
- enums: a value the proto defines (proto3 keeps unknown numbers) -> UNKNOWN_ENUM;
- strings: a per-field length limit (TEXT_LIMITS, by field name) -> TOO_LONG;
- repeated fields and maps: a per-field count limit (LIST_LIMITS) -> TOO_MANY;
- integers: a per-field range (INT_RANGES; otherwise 0..bounds.MAX_COUNT: no negative
  counts, limits, windows or money) -> OUT_OF_RANGE;
- floats: finite and inside a per-field range -> NOT_FINITE / OUT_OF_RANGE;
- Timestamps: inside the suite's documented range (bounds.check_timestamp).
Paths are those of the request ("policy.caps[2].window.kind"). Meaning-level rules
(required fields, ids, cross-field checks) live in domain/validation.py; both feed one
collector, so a request learns every violation at once.

Limits this service adds to the suite's (telco360_runtime.bounds): LIST_LIMITS below,
MAX_HOLD_SECONDS (domain.ledger.MAX_HOLD, 7 days), MAX_OFFERS_PER_ANSWER and the ranges in
INT_RANGES / FLOAT_RANGES.
"""

from __future__ import annotations

from google.protobuf.message import Message

from services.contact.domain.ledger import MAX_HOLD
from services.contact.domain.validation import MAX_CAP, MAX_WINDOW_UNITS
from telco360_runtime import bounds, paging
from telco360_runtime.errors import ViolationCollector
from telco360_runtime.request_bounds import FieldBounds, RequestBounds

MAX_HOLD_SECONDS = int(MAX_HOLD.total_seconds())
"""Longest hold of an unconfirmed reservation (ReserveContactRequest.hold_seconds)."""
MAX_OFFERS_PER_ANSWER = 20
"""Most offers GetNextBestOffer ranks in one answer."""
MAX_PAGE_SIZE = 1000
"""Largest page a list rpc answers."""

_ID_FIELDS = (
    "policy_id",
    "cap_id",
    "campaign_id",
    "offer_id",
    "cool_down_id",
    "opt_out_id",
    "customer_id",
    "person_id",
    "consent_id",
    "reservation_id",
    "outcome_id",
    "decision_id",
    "event_id",
    "job_id",
    "erasure_id",
    "replaces_policy_ids",
    "offer_ids",
    "tag",
)
TEXT_LIMITS: dict[str, int] = {
    **{name: bounds.ID_MAX for name in _ID_FIELDS},
    "page_token": paging.TOKEN_MAX,  # a keyset token carries the last item's sort key (time and id)
    # IANA names are at most ~30 characters; the bound also keeps zoneinfo's file lookup safe.
    "fallback_time_zones": bounds.ID_MAX,
    "start": 5,
    "end": 5,  # quiet hours, "HH:MM"
    "name": bounds.NAME_MAX,
    "created_by": bounds.NAME_MAX,
    "idempotency_key": bounds.NAME_MAX,
    "external_ref": bounds.NAME_MAX,
    "source_ref": bounds.NAME_MAX,
    "source": bounds.NAME_MAX,
    "reason": bounds.SHORT_TEXT_MAX,
    "removed_reason": bounds.SHORT_TEXT_MAX,
    "description": bounds.TEXT_MAX,
    "change_note": bounds.TEXT_MAX,
    "eligibility": bounds.EXPRESSION_MAX,
    "target": bounds.EXPRESSION_MAX,
}
"""Longest text per field name (the same name means the same kind of value in every message)."""
MAP_KEY_MAX = bounds.ID_MAX
"""Longest key of a map field (AccountEvent.attributes)."""
MAP_VALUE_MAX = bounds.SHORT_TEXT_MAX
"""Longest value of a map field."""

LIST_LIMITS: dict[str, int] = {
    "caps": 100,
    "cool_downs": 100,
    "triggers": 100,
    "offer_ids": 200,
    "replaces_policy_ids": 100,
    "purpose_classes": 20,
    "fallback_time_zones": 20,
    "quiet_weekdays": 7,
    "touchpoints": 20,
    "applies_to_tiers": 20,
    "channels": 20,
    "purposes": 20,
    "exempt_purposes": 20,
    "consent_channels": 20,
    "attributes": 100,
}
"""Most items per repeated field name (bounds.LIST_MAX otherwise)."""

INT_RANGES: dict[str, tuple[int, int]] = {
    "delta": (-MAX_CAP, MAX_CAP),  # AdjustCounter: a correction either way
    "max_contacts": (0, MAX_CAP),
    "size": (0, MAX_WINDOW_UNITS),
    "quiet_weekdays": (1, 7),
    "hold_seconds": (0, MAX_HOLD_SECONDS),  # 0 = the default hold (900 s)
    "max_offers": (0, MAX_OFFERS_PER_ANSWER),
    "page_size": (0, MAX_PAGE_SIZE),
    "control_group_bp": (0, 5000),
    "presentation_cool_down_hours": (0, 24 * 366),
    "proposal_ttl_seconds": (0, 366 * 86400),
    "value_fen": (0, bounds.MAX_MONEY_FEN),
    "cost_fen": (0, bounds.MAX_MONEY_FEN),
    "budget_fen": (0, bounds.MAX_MONEY_FEN),
    "contact_cost_fen": (0, bounds.MAX_MONEY_FEN),
    "spent_fen": (0, bounds.MAX_MONEY_FEN),
}
"""Range per integer field name (0..bounds.MAX_COUNT otherwise)."""

FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "prior_alpha": (0.0, 1e6),
    "prior_beta": (0.0, 1e6),  # Beta prior pseudo-counts
}
"""Range per float field name (0..bounds.MAX_QUANTITY otherwise)."""

BOUNDS = RequestBounds(
    FieldBounds(
        text=TEXT_LIMITS,
        count=LIST_LIMITS,
        ints=INT_RANGES,
        floats=FLOAT_RANGES,
        default_text=bounds.SHORT_TEXT_MAX,
        default_bytes=bounds.TEXT_MAX,
        default_count=bounds.LIST_MAX,
        default_int=(0, bounds.MAX_COUNT),
        default_float=(0.0, bounds.MAX_QUANTITY),
        default_map_key=MAP_KEY_MAX,
        default_map_value=MAP_VALUE_MAX,
    )
)


def collect(request: Message, out: ViolationCollector | None = None) -> ViolationCollector:
    """Check every set field of `request` against its bounds; returns the collector."""
    return BOUNDS.violations(request, out)
