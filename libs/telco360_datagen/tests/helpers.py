"""Checks shared by the datagen tests: the validation rules a good record must pass."""

from __future__ import annotations

import re

from telco360.ingest.v1 import ingest_pb2

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def mobile_digits(phone: str) -> str:
    """The 11-digit national number of a phone written as +86..., bare or spaced."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.startswith("+86"):
        digits = digits[2:]
    return digits


def problems(record: ingest_pb2.Record) -> list[str]:
    """Field paths of the record that break the ingest rules the generator must respect."""
    out: list[str] = []
    if not record.source or not record.source_record_id or not record.customer_id:
        out.append("identity")
    kind = record.WhichOneof("payload")
    if kind == "billing":
        if record.billing.fee_fen < 0:
            out.append("billing.fee_fen")
        if not MONTH.match(record.billing.month):
            out.append("billing.month")
        if record.billing.product_line == 0:
            out.append("billing.product_line")
    elif kind == "cost":
        cost = record.cost
        if cost.amount_fen <= 0:
            out.append("cost.amount_fen")
        if not MONTH.match(cost.month):
            out.append("cost.month")
        if cost.product_line == 0 or cost.cost_type == 0:
            out.append("cost")
    elif kind == "service_event":
        event = record.service_event
        if event.type == 0:
            out.append("service_event.type")
        if event.type == ingest_pb2.SERVICE_EVENT_TYPE_SATISFACTION_SURVEY and (
            not event.survey_answers or any(not 1 <= v <= 5 for v in event.survey_answers.values())
        ):
            out.append("service_event.survey_answers")
    elif kind == "contact":
        if not record.contact.name:
            out.append("contact.name")
        if record.contact.phone and not MOBILE.match(mobile_digits(record.contact.phone)):
            out.append("contact.phone")
        if record.contact.phone and len("".join(c for c in record.contact.phone if c.isdigit())) not in (11, 13):
            out.append("contact.phone")
    elif kind == "subscription" and not record.subscription.product_code:
        out.append("subscription.product_code")
    elif kind == "interaction" and not record.interaction.recorded_by:
        out.append("interaction.recorded_by")
    elif kind == "competitor" and not record.competitor.competitor:
        out.append("competitor.competitor")
    elif kind == "opportunity" and not record.opportunity.need:
        out.append("opportunity.need")
    elif kind == "account" and (not record.account.name or not record.account.region):
        out.append("account")
    return out
