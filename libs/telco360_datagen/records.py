"""Builders of ``telco360.ingest.v1.Record`` messages from planned facts.

Source systems and record ids follow what an operator's systems would send: the CRM
("crm") keys an account or contact by its own id, so an update is a new version of the
same ``(source, source_record_id)``; billing ("billing") sends one record per account,
month and product line; the call centre ("callcenter"), the fault system ("oss"), the
survey platform ("survey"), account managers' field app ("field") and the website ("web")
each number their own records.
"""

from __future__ import annotations

from typing import TypeVar, cast

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.model import AccountPlan, ContactPlan, Contract
from telco360_datagen.months import month_str

Record = ingest_pb2.Record
#: A generated protobuf enum (its stub class subclasses int).
EnumT = TypeVar("EnumT", bound=int)


def _record(source: str, srid: str, cid: str, ts: int, payload_field: str, payload: Message) -> Record:
    record = Record(source=source, source_record_id=srid, customer_id=cid, occurred_at=Timestamp(seconds=ts))
    getattr(record, payload_field).CopyFrom(payload)
    return record


def _enum(enum_type: type[EnumT], number: int) -> EnumT:
    """A planned enum number typed as the message's enum (plans keep enums as plain numbers)."""
    del enum_type  # names the type for the checker only
    return cast(EnumT, number)


def _attribute(value: object) -> common_pb2.AttributeValue:
    if isinstance(value, bool):
        return common_pb2.AttributeValue(bool_value=value)
    if isinstance(value, (int, float)):
        return common_pb2.AttributeValue(number_value=float(value))
    return common_pb2.AttributeValue(string_value=str(value))


def account(plan: AccountPlan, contract: Contract, ts: int) -> Record:
    """The CRM's account master record (a new version on every change)."""
    master = ingest_pb2.AccountMaster(
        name=plan.name,
        credit_code=plan.credit_code,
        parent_customer_id=plan.parent_id,
        industry=plan.industry.code,
        region=plan.region.region,
        tier=_enum(common_pb2.AccountTier, plan.tier),
        account_manager_id=plan.manager_id,
        contract_start_month=month_str(contract.start),
        contract_end_month=month_str(contract.end),
        employee_count=plan.employees,
        time_zone=plan.time_zone,
        attributes={k: _attribute(v) for k, v in plan.attributes.items()},
    )
    return _record("crm", f"ACC-{plan.customer_id}", plan.customer_id, ts, "account", master)


def contact(plan: AccountPlan, person: ContactPlan, ts: int, inactive: bool = False) -> Record:
    """A contact person; the departure is a new version with ``inactive`` set."""
    msg = ingest_pb2.ContactPerson(
        person_id=person.person_id,
        name=person.name,
        role=person.role,
        level=_enum(ingest_pb2.ContactLevel, person.level),
        phone=person.phone,
        email=person.email,
        preferred_hours=person.hours,
        inactive=inactive,
    )
    return _record("crm", f"CON-{person.person_id}", plan.customer_id, ts, "contact", msg)


def billing(
    cid: str,
    month: int,
    line: int,
    key: str,
    fee_fen: int,
    usage: float,
    unit: str,
    lines: int,
    status: int,
    days_overdue: int,
    ts: int,
) -> Record:
    """One month's bill of one product line."""
    month_text = month_str(month)
    msg = ingest_pb2.MonthlyBilling(
        month=month_text,
        product_line=_enum(common_pb2.ProductLine, line),
        fee_fen=fee_fen,
        usage_quantity=usage,
        usage_unit=unit,
        lines=lines,
        payment_status=_enum(ingest_pb2.PaymentStatus, status),
        days_overdue=days_overdue,
    )
    return _record("billing", f"BILL-{cid}-{month_text}-{key}", cid, ts, "billing", msg)


def subscription(
    cid: str, serial: int, code: str, line: int, action: int, quantity: int, fee_fen: int, ts: int
) -> Record:
    """A product added, changed or removed."""
    msg = ingest_pb2.Subscription(
        product_code=code,
        product_line=_enum(common_pb2.ProductLine, line),
        action=_enum(ingest_pb2.SubscriptionAction, action),
        quantity=quantity,
        monthly_fee_fen=fee_fen,
    )
    return _record("crm", f"SUB-{cid}-{serial:05d}", cid, ts, "subscription", msg)


def service_event(
    source: str,
    prefix: str,
    cid: str,
    serial: int,
    ts: int,
    *,
    type_: int,
    line: int = 0,
    severity: int = 0,
    hours: float = 0.0,
    answers: dict[str, int] | None = None,
    summary: str = "",
) -> Record:
    """A complaint, fault ticket, service call or satisfaction survey."""
    msg = ingest_pb2.ServiceEvent(
        type=_enum(ingest_pb2.ServiceEventType, type_),
        product_line=_enum(common_pb2.ProductLine, line),
        severity=severity,
        resolution_hours=hours,
        survey_answers=answers or {},
        summary=summary,
    )
    return _record(source, f"{prefix}-{cid}-{serial:05d}", cid, ts, "service_event", msg)


def interaction(
    source: str,
    cid: str,
    serial: int,
    ts: int,
    channel: int,
    recorded_by: str,
    person_id: str,
    notes: str,
    minutes: int,
) -> Record:
    """A visit, call, meeting, exhibition, questionnaire or website / call-centre contact."""
    msg = ingest_pb2.Interaction(
        channel=_enum(ingest_pb2.InteractionChannel, channel),
        recorded_by=recorded_by,
        person_id=person_id,
        notes=notes,
        duration_minutes=minutes,
    )
    return _record(source, f"INT-{cid}-{serial:05d}", cid, ts, "interaction", msg)


def competitor(
    cid: str,
    serial: int,
    ts: int,
    name: str,
    lines: list[int],
    satisfaction: int,
    contract_end: int | None,
    active: bool,
) -> Record:
    """Intelligence about a competitor at the account."""
    msg = ingest_pb2.CompetitorIntel(
        competitor=name,
        product_lines=[_enum(common_pb2.ProductLine, line) for line in lines],
        satisfaction=satisfaction,
        contract_end_month=month_str(contract_end) if contract_end is not None else "",
        active_approach=active,
    )
    return _record("field", f"CI-{cid}-{serial:05d}", cid, ts, "competitor", msg)


def opportunity(
    cid: str,
    opp_id: str,
    version: int,
    ts: int,
    need: str,
    budget_fen: int,
    decision_makers: list[str],
    close_month: int,
    stage: int,
    lines: list[int],
) -> Record:
    """A stage of an opportunity; each stage change is a new record of the same opportunity."""
    msg = ingest_pb2.Opportunity(
        opportunity_id=opp_id,
        need=need,
        budget_fen=budget_fen,
        decision_maker_ids=decision_makers,
        expected_close_month=month_str(close_month),
        stage=_enum(ingest_pb2.OpportunityStage, stage),
        product_lines=[_enum(common_pb2.ProductLine, line) for line in lines],
    )
    return _record("crm", f"OPP-{opp_id}-{version}", cid, ts, "opportunity", msg)


def lifecycle(cid: str, serial: int, ts: int, action: int, reason: int, detail: str) -> Record:
    """Account termination or reactivation."""
    msg = ingest_pb2.AccountLifecycle(
        action=_enum(ingest_pb2.LifecycleAction, action),
        reason=_enum(ingest_pb2.TerminationReason, reason),
        detail=detail,
    )
    return _record("crm", f"LC-{cid}-{serial}", cid, ts, "lifecycle", msg)
