"""Protobuf <-> domain conversion for ingest (api layer): records (see domain/records.py), results, entries.

Generic over the message descriptors, so a field added to the contract flows through
without code changes. `ListFields()` yields only fields that are set, which is exactly the
"defaults left out" rule of the domain's canonical form. Enum numbers become names (an
unknown number stays an int so validation can reject it); Timestamps become
{"seconds", "nanos"}; maps become dicts; the generated constructors accept the same shape
back (enum names, dicts for messages and maps).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.ingest.domain.entries import LogItem, QuarantineItem, Stats
from services.ingest.domain.hashing import load_record
from services.ingest.domain.ingest import Outcome, Prepared, quarantine_copy
from services.ingest.domain.violations import Normalisation, Violation
from telco360.ingest.v1 import ingest_pb2
from telco360_runtime import masking
from telco360_runtime.auth import mask

_TIMESTAMP = "google.protobuf.Timestamp"
_ENUM = FieldDescriptor.TYPE_ENUM
_MESSAGE = FieldDescriptor.TYPE_MESSAGE

# Per field descriptor: how to convert its value. Filled lazily; descriptors are immutable.
_PLAN: dict[Any, tuple[int, Any]] = {}
_SCALAR, _ENUM_ONE, _ENUM_LIST, _MSG_ONE, _MSG_LIST, _MAP_SCALAR, _MAP_MSG, _STAMP = range(8)


def _enum_names(fd: FieldDescriptor) -> dict[int, str]:
    enum = fd.enum_type
    if enum is None:  # an enum field always has its type; the stubs type it optional
        raise TypeError(f"{fd.full_name} has no enum type")
    return {v.number: v.name for v in enum.values}


def _plan(fd: FieldDescriptor) -> tuple[int, Any]:
    plan = _PLAN.get(fd)
    if plan is not None:
        return plan
    repeated = fd.is_repeated
    if fd.type == _ENUM:
        plan = (_ENUM_LIST if repeated else _ENUM_ONE, _enum_names(fd))
    elif fd.type == _MESSAGE:
        sub: Descriptor | None = fd.message_type
        if sub is None:  # a message field always has its type; the stubs type it optional
            raise TypeError(f"{fd.full_name} has no message type")
        if sub.GetOptions().map_entry:
            value_fd = sub.fields_by_name["value"]
            if value_fd.type == _MESSAGE:
                plan = (_MAP_MSG, None)
            else:
                plan = (_MAP_SCALAR, None)
        elif sub.full_name == _TIMESTAMP:
            plan = (_STAMP, None)
        else:
            plan = (_MSG_LIST if repeated else _MSG_ONE, None)
    else:
        plan = (_SCALAR, list if repeated else None)
    _PLAN[fd] = plan
    return plan


def message_to_dict(message: Message) -> dict[str, Any]:
    """A protobuf message as a dict of its set fields (domain shape)."""
    out: dict[str, Any] = {}
    plans = _PLAN
    for fd, value in message.ListFields():
        kind, extra = plans.get(fd) or _plan(fd)
        if kind == _SCALAR:
            out[fd.name] = list(value) if extra else value
        elif kind == _ENUM_ONE:
            out[fd.name] = extra.get(value, value)
        elif kind == _ENUM_LIST:
            out[fd.name] = [extra.get(v, v) for v in value]
        elif kind == _STAMP:
            out[fd.name] = (
                {"seconds": value.seconds, "nanos": value.nanos} if value.nanos else {"seconds": value.seconds}
            )
        elif kind == _MSG_ONE:
            out[fd.name] = message_to_dict(value)
        elif kind == _MSG_LIST:
            out[fd.name] = [message_to_dict(v) for v in value]
        elif kind == _MAP_SCALAR:
            out[fd.name] = dict(value)
        else:
            out[fd.name] = {k: message_to_dict(v) for k, v in value.items()}
    return out


def record_to_dict(record: ingest_pb2.Record) -> dict[str, Any]:
    """A Record message as a domain record dict."""
    return message_to_dict(record)


def dict_to_record(data: dict[str, Any]) -> ingest_pb2.Record:
    """A domain record dict (normalised or as received) back as a Record message."""
    return ingest_pb2.Record(**data)


def violation_pb(v: Violation | Normalisation) -> ingest_pb2.FieldViolation:
    """A domain violation or normalisation as the contract's FieldViolation."""
    return ingest_pb2.FieldViolation(field=v.field, description=v.description, reason=v.reason)


_STATUS = {
    "ACCEPTED": ingest_pb2.RECORD_STATUS_ACCEPTED,
    "DUPLICATE": ingest_pb2.RECORD_STATUS_DUPLICATE,
    "CORRECTED": ingest_pb2.RECORD_STATUS_CORRECTED,
    "REJECTED": ingest_pb2.RECORD_STATUS_REJECTED,
}


def fill_result(
    result: ingest_pb2.RecordResult, index: int, item: Prepared, outcome: Outcome
) -> ingest_pb2.RecordResult:
    """Fill a RecordResult in place (e.g. one added to a batch result's repeated field)."""
    result.index = index
    result.source = item.source
    result.source_record_id = item.source_record_id
    result.status = _STATUS[outcome.status]
    result.sequence = outcome.sequence
    result.version = outcome.version
    if item.violations:
        result.violations.extend(violation_pb(v) for v in item.violations)
    if item.normalisations:
        result.normalisations.extend(violation_pb(n) for n in item.normalisations)
    if outcome.quarantine_id is not None:
        result.quarantine_id = str(outcome.quarantine_id)
    return result


def result_pb(index: int, item: Prepared, outcome: Outcome) -> ingest_pb2.RecordResult:
    """The RecordResult of one prepared record and what the store did with it."""
    return fill_result(ingest_pb2.RecordResult(), index, item, outcome)


def log_entry_pb(item: LogItem) -> ingest_pb2.LogEntry:
    """A stored log item as a LogEntry (its payload is the normalised record's JSON), its
    personal fields masked for the caller (`mask_record`)."""
    seconds, micros = divmod(item.ingested_at_us, 1_000_000)
    # Dicts, not messages: the constructor builds the sub-messages in place (no copies).
    entry = ingest_pb2.LogEntry(
        sequence=item.sequence,
        version=item.version,
        record=load_record(item.payload),
        ingested_at={"seconds": seconds, "nanos": micros * 1000},
    )
    mask_record(entry.record)
    return entry


def mask_record(record: ingest_pb2.Record) -> None:
    """Mask a record's personal fields in place for the current caller (telco360_runtime.masking).

    The log and the quarantine hold every account, so no account-team scoping can apply:
    `scoped=False`, only admin and service read them unmasked (peers read the log all day:
    one role lookup per entry, nothing else). Ingest does not know which operator attributes
    are personal (profile's `personal_attributes`), so every text attribute is masked for
    roles that may not see personal attributes, and other attribute values are left out.
    """
    kinds = masking.visible_kinds(scoped=False)
    if kinds == masking.KINDS:
        return
    payload = record.WhichOneof("payload")
    if payload == "account":
        account = record.account
        if masking.ACCOUNT_NAME not in kinds:
            account.name = mask(account.name)
        if masking.ATTRIBUTES not in kinds:
            for name in list(account.attributes):
                value = account.attributes[name]
                if value.WhichOneof("kind") == "string_value":
                    value.string_value = mask(value.string_value)
                else:
                    del account.attributes[name]
    elif payload == "contact":
        person = record.contact
        if masking.CONTACT_NAME not in kinds:
            person.name = mask(person.name)
        if masking.PHONE not in kinds:
            person.phone = mask(person.phone)
        if masking.EMAIL not in kinds:
            person.email = mask(person.email)
    elif payload == "service_event" and masking.NOTES not in kinds:
        record.service_event.summary = mask(record.service_event.summary)
    elif payload == "interaction" and masking.NOTES not in kinds:
        record.interaction.notes = mask(record.interaction.notes)
    elif payload == "cost" and masking.NOTES not in kinds:
        record.cost.note = mask(record.cost.note)


def timestamp_us(stamp: Timestamp) -> int:
    """Microseconds since the epoch of a Timestamp."""
    return stamp.seconds * 1_000_000 + stamp.nanos // 1000


def quarantine_entry_pb(item: QuarantineItem) -> ingest_pb2.QuarantineEntry:
    """A stored quarantine item as a QuarantineEntry."""
    seconds, micros = divmod(item.received_at_us, 1_000_000)
    entry = ingest_pb2.QuarantineEntry(
        quarantine_id=str(item.id),
        record=raw_record_pb(item.record),
        violations=[ingest_pb2.FieldViolation(field=f, description=d, reason=r) for f, d, r in item.violations],
        received_at=Timestamp(seconds=seconds, nanos=micros * 1000),
        resolved=item.resolved,
        resolved_sequence=item.resolved_sequence,
    )
    mask_record(entry.record)  # personal fields masked for the caller, as in the log
    return entry


def raw_record_pb(raw_json: str) -> ingest_pb2.Record:
    """A record as received (quarantine JSON) back as a Record message.

    Cut like any new entry (domain.ingest.quarantine_copy; a no-op for entries stored since):
    an entry stored whole before the cut existed must not make a page outgrow its bytes.
    """
    return ingest_pb2.Record(**quarantine_copy(json.loads(raw_json)))


def stats_pb(stats: Stats) -> ingest_pb2.IngestStats:
    """The store's summary counts as IngestStats."""
    return ingest_pb2.IngestStats(
        records=stats.records,
        log_entries=stats.log_entries,
        quarantined=stats.quarantined,
        last_sequence=stats.last_sequence,
        customers=stats.customers,
    )
