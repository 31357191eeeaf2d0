"""Protobuf <-> domain dict conversion for ingest records (see domain/records.py).

Generic over the message descriptors, so a field added to the contract flows through
without code changes. `ListFields()` yields only fields that are set, which is exactly the
"defaults left out" rule of the domain's canonical form. Enum numbers become names (an
unknown number stays an int so validation can reject it); Timestamps become
{"seconds", "nanos"}; maps become dicts; the generated constructors accept the same shape
back (enum names, dicts for messages and maps).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.ingest.domain.violations import Normalisation, Violation
from telco360.ingest.v1 import ingest_pb2

_TIMESTAMP = "google.protobuf.Timestamp"
_ENUM = FieldDescriptor.TYPE_ENUM
_MESSAGE = FieldDescriptor.TYPE_MESSAGE

# Per field descriptor: how to convert its value. Filled lazily; descriptors are immutable.
_PLAN: dict[Any, tuple[int, Any]] = {}
_SCALAR, _ENUM_ONE, _ENUM_LIST, _MSG_ONE, _MSG_LIST, _MAP_SCALAR, _MAP_MSG, _STAMP = range(8)


def _enum_names(fd: FieldDescriptor) -> dict[int, str]:
    return {v.number: v.name for v in fd.enum_type.values}


def _plan(fd: FieldDescriptor) -> tuple[int, Any]:
    plan = _PLAN.get(fd)
    if plan is not None:
        return plan
    repeated = fd.label == FieldDescriptor.LABEL_REPEATED
    if fd.type == _ENUM:
        plan = (_ENUM_LIST if repeated else _ENUM_ONE, _enum_names(fd))
    elif fd.type == _MESSAGE:
        sub: Descriptor = fd.message_type
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
    for fd, value in message.ListFields():
        kind, extra = _plan(fd)
        if kind == _SCALAR:
            out[fd.name] = list(value) if extra else value
        elif kind == _ENUM_ONE:
            out[fd.name] = extra.get(value, value)
        elif kind == _ENUM_LIST:
            out[fd.name] = [extra.get(v, v) for v in value]
        elif kind == _STAMP:
            out[fd.name] = {"seconds": value.seconds, "nanos": value.nanos} if value.nanos \
                else {"seconds": value.seconds}
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
