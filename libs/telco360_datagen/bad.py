"""Deliberately bad records, for demonstrating validation and the quarantine.

Whether a record is bad is decided from a hash of (seed, source, source_record_id), so the
choice does not disturb the random stream (the good data are the same with and without bad
records) and every iteration flags the same records. A bad record replaces the good one in
the stream under the same identity (for CRM records sent in several versions, only the
first version chosen); ground truth keeps the good version as its correction.

Kinds: NEGATIVE_FEE and BAD_MONTH (billing), NEGATIVE_COST (cost records), SURVEY_OUT_OF_RANGE (an answer of 6),
MALFORMED_PHONE (contacts), MISSING_REQUIRED (a required field left empty: product code,
service event type, recorded_by, competitor name, need, contact name). Account master and
lifecycle records are never made bad, so the hierarchy and churn truth stay whole.
"""

from __future__ import annotations

import hashlib

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.truth import BadRecord

EV = ingest_pb2.ServiceEventType


def is_bad(seed: int, record: ingest_pb2.Record, share: float) -> tuple[bool, int]:
    """Whether the record is chosen to be bad, and a number to pick the kind with."""
    if share <= 0.0:
        return False, 0
    digest = hashlib.blake2b(f"{seed}|{record.source}|{record.source_record_id}".encode(), digest_size=12).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return draw < share, int.from_bytes(digest[8:], "big")


def corrupt(record: ingest_pb2.Record, pick: int) -> tuple[ingest_pb2.Record, BadRecord] | None:
    """A bad copy of the record and its ground truth, or None when the kind is never made bad."""
    kind_name = record.WhichOneof("payload")
    if kind_name in (None, "account", "lifecycle"):
        return None
    bad = ingest_pb2.Record()
    bad.CopyFrom(record)
    if kind_name == "billing":
        if pick % 2 == 0:
            bad.billing.fee_fen = -max(1, record.billing.fee_fen)
            kind, field = "NEGATIVE_FEE", "billing.fee_fen"
        else:
            year, month = record.billing.month.split("-")
            bad.billing.month = (f"{year}-13", f"{year}/{month}", f"{year}-{month}-01")[pick // 2 % 3]
            kind, field = "BAD_MONTH", "billing.month"
    elif kind_name == "cost":
        bad.cost.amount_fen = -max(1, record.cost.amount_fen)
        kind, field = "NEGATIVE_COST", "cost.amount_fen"
    elif kind_name == "service_event" and record.service_event.type == EV.SERVICE_EVENT_TYPE_SATISFACTION_SURVEY:
        question = sorted(record.service_event.survey_answers)[pick % len(record.service_event.survey_answers)]
        bad.service_event.survey_answers[question] = 6
        kind, field = "SURVEY_OUT_OF_RANGE", "service_event.survey_answers"
    elif kind_name == "service_event":
        bad.service_event.type = EV.SERVICE_EVENT_TYPE_UNSPECIFIED
        kind, field = "MISSING_REQUIRED", "service_event.type"
    elif kind_name == "contact" and record.contact.phone:
        digits = "".join(ch for ch in record.contact.phone if ch.isdigit())[-11:]
        bad.contact.phone = (f"{digits[:3]}-12A4-{digits[-4:]}", digits[:7], f"+86{digits}99")[pick % 3]
        kind, field = "MALFORMED_PHONE", "contact.phone"
    else:
        field = {
            "contact": "contact.name",
            "subscription": "subscription.product_code",
            "interaction": "interaction.recorded_by",
            "competitor": "competitor.competitor",
            "opportunity": "opportunity.need",
        }[kind_name]
        getattr(bad, kind_name).ClearField(field.split(".")[1])
        kind = "MISSING_REQUIRED"
    truth = BadRecord(
        source=record.source,
        source_record_id=record.source_record_id,
        customer_id=record.customer_id,
        kind=kind,
        field=field,
        corrected=record,
    )
    return bad, truth
