"""Conversions between domain errors and gRPC statuses with google.rpc rich details."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from telco360_runtime.errors import (
    ERROR_DOMAIN,
    AlreadyExists,
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
)

DETAILS_KEY = "grpc-status-details-bin"


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_for(error: DomainError) -> grpc.Status:
    """The rich gRPC status (code, message, details in trailing metadata) for an error."""
    code = grpc.StatusCode[error.grpc_code]
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata))]
    if isinstance(error, InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description, reason=v.reason)
            for v in error.violations
        ])))
    if isinstance(error, (NotFound, AlreadyExists)):
        details.append(_pack(error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.resource_name, description=error.message,
        )))
    proto = status_pb2.Status(code=code.value[0], message=error.message, details=details)
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
