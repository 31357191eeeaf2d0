"""Conversions between domain errors and gRPC statuses with google.rpc rich details.

Every status is bounded in size whatever the error carries: the message, each violation's
field and description, ErrorInfo metadata and ResourceInfo are clipped, and violations stop
being added once the encoded details reach `DETAILS_MAX_BYTES` (the number left out is in
ErrorInfo metadata `omitted_violations`). Status and details travel in trailing metadata,
which clients limit to 8 KiB by default: an error echoing a 100 KB value would otherwise
reach the client as "RESOURCE_EXHAUSTED: received metadata size exceeds hard limit"
instead of the real answer.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from telco360_runtime.bounds import clip
from telco360_runtime.errors import (
    ERROR_DOMAIN,
    AlreadyExists,
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
)

DETAILS_KEY = "grpc-status-details-bin"

# Sizes in characters, except DETAILS_MAX_BYTES (the encoded google.rpc.Status, which goes
# base64-encoded into trailers: 3 KiB -> 4 KiB, plus the message percent-encoded in
# grpc-message: at most ~1.8 KiB for 200 CJK characters; well inside the 8 KiB default).
MESSAGE_MAX = 200
FIELD_MAX = 200
DESCRIPTION_MAX = 200
REASON_MAX = 64
METADATA_MAX_ENTRIES = 8
METADATA_KEY_MAX = 32
METADATA_VALUE_MAX = 64
DETAILS_MAX_BYTES = 3072


def _bounded_metadata(metadata: dict[str, str], omitted: int) -> dict[str, str]:
    items = sorted(metadata.items())[: METADATA_MAX_ENTRIES - 1 if omitted else METADATA_MAX_ENTRIES]
    bounded = {clip(str(k), METADATA_KEY_MAX): clip(str(v), METADATA_VALUE_MAX) for k, v in items}
    if omitted:
        bounded["omitted_violations"] = str(omitted)
    return bounded


def _bounded_violations(error: InvalidArgument, budget: int) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """As many clipped violations as fit in `budget` bytes (always the first one)."""
    kept: list[error_details_pb2.BadRequest.FieldViolation] = []
    used = 0
    for v in error.violations:
        item = error_details_pb2.BadRequest.FieldViolation(
            field=clip(v.field, FIELD_MAX),
            description=clip(v.description, DESCRIPTION_MAX),
            reason=clip(v.reason, REASON_MAX),
        )
        size = item.ByteSize() + 4  # tag and length prefix inside BadRequest
        if kept and used + size > budget:
            break
        kept.append(item)
        used += size
    return kept


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_for(error: DomainError) -> grpc.Status:
    """The rich gRPC status (code, message, details in trailing metadata) for an error."""
    code = grpc.StatusCode[error.grpc_code]
    message = clip(error.message, MESSAGE_MAX)
    extra = []
    if isinstance(error, (NotFound, AlreadyExists)):
        extra.append(
            _pack(
                error_details_pb2.ResourceInfo(
                    resource_type=clip(error.resource_type, FIELD_MAX),
                    resource_name=clip(error.resource_name, FIELD_MAX),
                    description=message,
                )
            )
        )
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    omitted = 0
    if isinstance(error, InvalidArgument):
        # Budget left once everything but the violations is in (room kept for the
        # `omitted_violations` entry and the Any wrapper of the BadRequest).
        base = status_pb2.Status(
            code=code.value[0],
            message=message,
            details=[
                _pack(
                    error_details_pb2.ErrorInfo(
                        reason=clip(error.reason, REASON_MAX),
                        domain=ERROR_DOMAIN,
                        metadata=_bounded_metadata(error.metadata, 1),
                    )
                ),
                *extra,
            ],
        )
        violations = _bounded_violations(error, DETAILS_MAX_BYTES - base.ByteSize() - 80)
        omitted = len(error.violations) - len(violations)
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=clip(error.reason, REASON_MAX),
                domain=ERROR_DOMAIN,
                metadata=_bounded_metadata(error.metadata, omitted),
            )
        ),
        *extra,
    ]
    if isinstance(error, InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=violations)))
    proto = status_pb2.Status(code=code.value[0], message=message, details=details)
    return rpc_status.to_status(proto)


def rich_status(trailing_metadata) -> status_pb2.Status | None:
    """The google.rpc.Status carried in a call's trailing metadata, if any."""
    for key, value in trailing_metadata or ():
        if key == DETAILS_KEY:
            return status_pb2.Status.FromString(value)
    return None


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[FieldViolation]:
    """Field violations of a failed call (empty if it carried no BadRequest)."""
    status = rich_status(error.trailing_metadata())
    found: list[FieldViolation] = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.extend(FieldViolation(v.field, v.description, v.reason) for v in bad.field_violations)
    return found
