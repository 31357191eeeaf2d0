"""Use cases: Customer360 reads (stored read model or assembled live), erasure and recorded scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.profile.domain.model import Score
from services.profile.store import readmodel, views
from services.profile.store.actions import erase_customer, record_scores
from services.profile.usecases.base import ProfileBase

TREND_MONTHS = readmodel.TREND_MONTHS
RECENT_LIMIT = readmodel.RECENT_LIMIT


class AccountCases(ProfileBase):
    """Customer360, EraseCustomer and RecordScores."""

    def stored_view(self, cid: str) -> tuple[bytes, dict] | None:
        """The stored account-level view and its group fields read now (None: not rendered or unknown)."""
        with self.db.engine.connect() as conn:  # one read: no ORM session needed
            return readmodel.read_view(conn, self.hierarchy, cid)

    def live_view(self, cid: str, group: bool, months: int, recent: int) -> dict[str, Any] | None:
        """The Customer360 parts assembled from the facts (None: unknown account)."""
        with self.db.session() as s:
            return views.customer360(s, cid, group, months, recent)

    def record_scores(self, scores: Sequence[Score]) -> dict:
        """Store scores and react (tags, risk-band events)."""
        with self.write_session() as s:
            tx = self.tx(s)
            rules, types = self.rules_for(s)
            return record_scores(tx, scores, rules, types, self.revenue_base(s))

    def erase(self, customer_id: str, reason: str, purge: bool) -> dict[str, int] | None:
        """Erase an account's personal data."""
        with self.write_session() as s:
            return erase_customer(self.tx(s), customer_id, reason, purge)
