"""API layer: helpers shared by profile's servicer modules (request checks, the servicer's collaborators)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

from services.profile.usecases.erasure import ErasureDispatcher
from services.profile.usecases.follow_log import LogConsumer
from services.profile.usecases.profile import ProfileUseCases
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.audit import AuditTrail
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.jobs import JobRunner

TYPES = {"number": pb.FEATURE_TYPE_NUMBER, "string": pb.FEATURE_TYPE_STRING, "bool": pb.FEATURE_TYPE_BOOL}


class Enricher(Protocol):
    """Adds what other services know to a Customer360 (peers/contact.Peers): score, recent contacts."""

    async def enrich(self, out: pb.Customer360, customer_id: str, recent: int) -> None: ...


def expression_digest(expression: str) -> str:
    """How the audit trail names an expression: a digest, since its literals may be personal values."""
    if not expression.strip():
        return "none"
    return "sha256:" + hashlib.sha256(expression.encode()).hexdigest()[:16]


def required(value: str, field: str) -> str:
    """The value, or INVALID_ARGUMENT naming the missing field."""
    if not value:
        raise InvalidArgument(FieldViolation(field, "is required", "REQUIRED"))
    return value


class HandlerBase:
    """State every handler group reads: the use cases, jobs, peers and the log follower."""

    def __init__(
        self,
        store: ProfileUseCases,
        jobs: JobRunner,
        peers: Enricher,
        consumer: LogConsumer | None = None,
        personal_attributes: Iterable[str] = (),
        *,
        audit: AuditTrail,
        erasure: ErasureDispatcher | None = None,
    ) -> None:
        # Masked for roles that may not see personal data: as attributes and as `attr.` features.
        self.personal_attributes = frozenset(personal_attributes)
        self.personal_features = frozenset(f"attr.{name}" for name in self.personal_attributes)
        self.store = store
        self.db = store.db
        self.jobs = jobs
        self.peers = peers
        self.consumer = consumer
        # Reads of Customer360s and features, exports, segment queries, tag rule changes and
        # erasures are on the trail: account ids, tag ids, counts, expression digests only.
        self.audit = audit
        # Sends each erasure to the other services (None: profile alone, nothing to send).
        self.erasure = erasure

    async def _checked(self, expression: str, field: str, segment: bool = False):
        return await self.db.run(self.store.checked, expression, field, segment)
