"""Domain: the erasure of one account across the suite (pure rules: states, completion, retention).

Profile coordinates every erasure: it erases its own store at once and records, per other
service, whether that service has applied it (ApplyErasure answered OK). A service that is
down stays PENDING and is retried until it answers; a reactivation does the same with
LiftErasure. States are numbered as telco360.profile.v1.ErasureState.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

PENDING, DONE, LIFT_PENDING, LIFTED = 1, 2, 3, 4
PROFILE = "profile"
PEER_SERVICES = ("ingest", "scoring", "contact")
TRIGGER_REQUEST, TRIGGER_RETENTION, TRIGGER_LOG = "request", "retention", "log"
LOG_REASON = "erased in the ingest log (rebuild)"
RETENTION_REASON = "retention: terminated more than {days} days ago"
ERROR_MAX = 300


@dataclass
class ServiceProgress:
    """One service's part of an erasure."""

    service: str
    state: int
    removed: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    last_error: str = ""
    last_attempt_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    lifted_at: dt.datetime | None = None


@dataclass
class ErasureView:
    """An erasure and where every service stands with it."""

    erasure_id: str
    customer_id: str
    trigger: str
    purge_facts: bool
    requested_at: dt.datetime
    reactivated_at: dt.datetime | None
    services: list[ServiceProgress]
    erased_at: dt.datetime | None = None
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every service applied the erasure (or, after a reactivation, lifted it)."""
        return is_complete((p.state for p in self.services), self.reactivated_at is not None)


@dataclass(frozen=True)
class PeerTask:
    """One call the dispatcher owes a service: apply an erasure, or lift it."""

    erasure_id: str
    customer_id: str
    service: str
    lift: bool
    purge_facts: bool
    reason: str


def new_erasure_id(now: dt.datetime) -> str:
    """A new erasure id that sorts by request time ("er-20261207120000123456-1a2b3c")."""
    return f"er-{now.astimezone(dt.UTC):%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:6]}"


def is_complete(states: Iterable[int], reactivated: bool) -> bool:
    """Whether every service is DONE (LIFTED once the account was reactivated)."""
    want = LIFTED if reactivated else DONE
    return all(state == want for state in states)


def service_order(service: str) -> tuple[int, str]:
    """Profile first, then the other services by name."""
    return (0 if service == PROFILE else 1, service)


def error_text(code: str, details: str) -> str:
    """The recorded form of a failed call: "CODE: details", clipped (ids and codes only, never payloads)."""
    text = f"{code}: {details}" if details else code
    return text[:ERROR_MAX]


def retention_cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    """Accounts terminated before this moment are due for erasure (None: retention off)."""
    return now - dt.timedelta(days=days) if days > 0 else None


def terminated_before(terminated_at: str | None, cutoff: dt.datetime) -> bool:
    """Whether a stored termination time (ISO text) is before the cutoff."""
    if not terminated_at:
        return False
    try:
        at = dt.datetime.fromisoformat(terminated_at)
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at < cutoff
