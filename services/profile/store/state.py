"""Store layer: the sync cursor, the sync counters and the active revenue base, as read from the tables."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.profile.domain.model import STATUS_ACTIVE
from services.profile.store.codec import utc
from services.profile.store.models import Account, PendingRefresh, SyncState
from services.profile.store.writer import last_event_sequence


def applied_sequence(s: Session) -> int:
    """The durable cursor (0 before the first apply)."""
    return s.execute(select(SyncState.applied_sequence).where(SyncState.id == 1)).scalar() or 0


def known_ingest_sequence(s: Session) -> int:
    """The highest sequence ingest reported or profile applied (0 when none), as stored."""
    return s.execute(select(SyncState.ingest_last_sequence).where(SyncState.id == 1)).scalar() or 0


def sync_status(s: Session) -> dict:
    """Cursor, pending refreshes, ingest's last sequence, last apply time, accounts and last event sequence."""
    state = s.get(SyncState, 1)
    accounts = s.execute(select(func.count()).select_from(Account).where(Account.erased.is_(False))).scalar()
    pending = s.execute(select(func.count()).select_from(PendingRefresh)).scalar() or 0
    return {
        "applied_sequence": state.applied_sequence if state else 0,
        "pending_refresh": pending,
        "ingest_last_sequence": state.ingest_last_sequence if state else 0,
        "last_applied_at": utc(state.last_applied_at) if state else None,
        "accounts": accounts or 0,
        "last_event_sequence": last_event_sequence(s),
    }


def active_revenues(s: Session) -> list[float]:
    """The 12-month revenue of every active, not erased account that has one."""
    values = s.execute(
        select(Account.revenue_12m).where(
            Account.status == STATUS_ACTIVE, Account.erased.is_(False), Account.revenue_12m.is_not(None)
        )
    ).scalars()
    return [v for v in values if v is not None]
