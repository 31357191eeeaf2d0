"""Domain errors that declare their gRPC status by name (Feast's pattern, no grpc import).

Domain and store code raise these; the server interceptor turns them into gRPC statuses
with google.rpc rich details (BadRequest field violations, ErrorInfo, ResourceInfo).
Anything else that escapes a handler becomes INTERNAL with a generic message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

ERROR_DOMAIN = "telco360.io"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path (e.g. "record.billing.fee_fen"), what is wrong, and a code."""

    field: str
    description: str
    reason: str = "INVALID"


class DomainError(Exception):
    """Base of all errors with a defined gRPC status."""

    grpc_code: ClassVar[str] = "INTERNAL"
    reason: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidArgument(DomainError):
    """Bad input; carries one or more field violations."""

    grpc_code = "INVALID_ARGUMENT"
    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: Iterable[FieldViolation] | FieldViolation,
        message: str | None = None,
    ) -> None:
        items = [violations] if isinstance(violations, FieldViolation) else list(violations)
        self.violations: list[FieldViolation] = items
        summary = "; ".join(f"{v.field}: {v.description}" for v in items[:5])
        super().__init__(message or f"invalid request: {summary}")


class NotFound(DomainError):
    """A named resource does not exist."""

    grpc_code = "NOT_FOUND"
    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, resource_name: str, message: str | None = None) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(message or f"{resource_type} '{resource_name}' not found")


class AlreadyExists(DomainError):
    """A resource with that name exists already."""

    grpc_code = "ALREADY_EXISTS"
    reason = "ALREADY_EXISTS"

    def __init__(self, resource_type: str, resource_name: str, message: str | None = None) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(message or f"{resource_type} '{resource_name}' already exists")


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the operation."""

    grpc_code = "FAILED_PRECONDITION"
    reason = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    """A quota or cap is used up."""

    grpc_code = "RESOURCE_EXHAUSTED"
    reason = "RESOURCE_EXHAUSTED"


class Aborted(DomainError):
    """A concurrency conflict; the caller may retry."""

    grpc_code = "ABORTED"
    reason = "ABORTED"


class Unavailable(DomainError):
    """A dependency (peer service, database) is down; the caller may retry later."""

    grpc_code = "UNAVAILABLE"
    reason = "DEPENDENCY_UNAVAILABLE"

    def __init__(self, dependency: str, message: str | None = None) -> None:
        self.dependency = dependency
        super().__init__(message or f"dependency '{dependency}' is unavailable", metadata={"dependency": dependency})


class Unauthenticated(DomainError):
    """No valid credentials."""

    grpc_code = "UNAUTHENTICATED"
    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller's role may not do this."""

    grpc_code = "PERMISSION_DENIED"
    reason = "PERMISSION_DENIED"


@dataclass
class ViolationCollector:
    """Collects field violations while validating, then raises them all at once."""

    prefix: str = ""
    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str, reason: str = "INVALID") -> None:
        """Record a violation at `prefix + path`."""
        full = f"{self.prefix}{path}" if self.prefix else path
        self.violations.append(FieldViolation(full, description, reason))

    def raise_if_any(self) -> None:
        """Raise InvalidArgument when anything was collected."""
        if self.violations:
            raise InvalidArgument(self.violations)
