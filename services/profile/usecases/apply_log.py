"""Use cases: applying ingest's log (one transaction per batch with the cursor) and the sync state."""

from __future__ import annotations

from collections.abc import Sequence

from services.profile.domain.model import LogRecord
from services.profile.store import state
from services.profile.store.apply import ApplyResult, apply_batch, refresh_pending
from services.profile.usecases.billing_periods import BillingPeriodCases


class ApplyLogCases(BillingPeriodCases):
    """Apply batches, drain the catch-up queue, read and note the cursor."""

    def apply(self, records: Sequence[LogRecord], defer: bool = False) -> ApplyResult:
        """Apply log entries and advance the cursor in one transaction (see apply_batch for defer)."""
        with self.write_session() as s:
            result = apply_batch(
                s,
                records,
                self.clock(),
                self.rules_for,
                self.revenue_base(s),
                self.priority,
                defer,
                self.render_view,
                self.erasure_services,
            )
        if not defer:
            self.settle_billing_periods()
        return result

    def refresh_pending(self, limit: int = 1000) -> int:
        """Refresh accounts queued in catch-up mode; returns how many (0 when none are left)."""
        with self.write_session() as s:
            done = refresh_pending(
                s, self.clock(), self.rules_for, self.revenue_base(s), self.priority, limit, self.render_view
            )
        if not done:
            self.settle_billing_periods()
        return done

    def applied_sequence(self) -> int:
        """The durable cursor."""
        with self.db.session() as s:
            return state.applied_sequence(s)

    def sync_status(self) -> dict:
        """Cursor, last apply time, accounts and last event sequence."""
        with self.db.session() as s:
            return state.sync_status(s)

    def known_ingest_sequence(self) -> int:
        """The highest sequence ingest reported or profile applied (0 when none), as stored."""
        with self.db.session() as s:
            return state.known_ingest_sequence(s)

    def note_ingest_sequence(self, sequence: int) -> None:
        """Remember the highest sequence ingest reported (for the lag)."""
        with self.write_session() as s:
            tx = self.tx(s)
            if sequence > (tx.state.ingest_last_sequence or 0):
                tx.state.ingest_last_sequence = sequence
