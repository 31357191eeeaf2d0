"""Write transactions that change accounts: serialised, with one change number each.

Every transaction that changes accounts, tags or events takes the writer lock first
(SQLite's BEGIN IMMEDIATE does this by itself; on PostgreSQL a transaction-scoped advisory
lock), so event sequence numbers and change numbers are committed in increasing order and
a follower reading "after N" never skips a row that commits later with a smaller number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.profile.domain.events import AccountEvent
from services.profile.store.bulk import insert_rows
from services.profile.store.codec import dumps
from services.profile.store.models import AccountEventRow, SyncState

if TYPE_CHECKING:
    from services.profile.store.readmodel import ViewRenderer

WRITER_LOCK_KEY = 0x7E1E_360F


class Tx:
    """One serialised write transaction on an open session.

    `render` is the Customer360 view renderer the caller passes when the transaction is to
    keep the read model (store/readmodel.py); None keeps no stored views.
    """

    def __init__(self, session: Session, now: dt.datetime, render: ViewRenderer | None = None) -> None:
        self.s = session
        self.now = now
        self.render = render
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK_KEY})
        state = session.get(SyncState, 1)
        if state is None:
            state = SyncState(id=1, applied_sequence=0, ingest_last_sequence=0, change_counter=0)
            session.add(state)
            session.flush()
        self.state = state
        self._change_seq: int | None = None
        self._events: list[dict] = []
        self._roots: dict[str, str] = {}

    @property
    def change_seq(self) -> int:
        """The change number of this transaction (allocated on first use)."""
        if self._change_seq is None:
            self.state.change_counter = (self.state.change_counter or 0) + 1
            self._change_seq = self.state.change_counter
        return self._change_seq

    def publish(self, events: Iterable[AccountEvent], roots: dict[str, str] | None = None) -> None:
        """Queue events for the feed (written by flush, in order)."""
        roots = roots or {}
        for e in events:
            self._events.append(
                {
                    "customer_id": e.customer_id,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "published_at": self.now,
                    "tag_id": e.tag_id,
                    "rule_version": e.rule_version,
                    "previous_risk_band": e.previous_risk_band,
                    "risk_band": e.risk_band,
                    "details": dumps(e.details),
                    "source_sequence": e.source_sequence,
                    "group_root": roots.get(e.customer_id, ""),
                }
            )

    def flush(self) -> None:
        """Write queued events."""
        if self._events:
            insert_rows(self.s, AccountEventRow.__table__, self._events)
            self._events = []


def last_event_sequence(s: Session) -> int:
    """Highest published event sequence (0 when none)."""
    from sqlalchemy import func

    return s.execute(select(func.max(AccountEventRow.sequence))).scalar() or 0
