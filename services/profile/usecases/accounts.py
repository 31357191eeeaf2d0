"""Use cases: Customer360 reads (stored read model or assembled live), erasure and recorded scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.profile.domain.model import Score
from services.profile.store import readmodel, views
from services.profile.store.actions import erase_customer, record_scores
from services.profile.store.scope import Scope
from services.profile.usecases.base import ProfileBase, require_in_scope

TREND_MONTHS = readmodel.TREND_MONTHS
RECENT_LIMIT = readmodel.RECENT_LIMIT


class AccountCases(ProfileBase):
    """Customer360, EraseCustomer and RecordScores."""

    def stored_view(self, cid: str, scope: Scope = None) -> tuple[bytes, dict] | None:
        """The stored account-level view and its group fields read now (None: not rendered or unknown).

        `scope` (account-team scoping, None: every account): PERMISSION_DENIED for an account
        outside it; the group fields name only its accounts.
        """
        with self.db.engine.connect() as conn:  # one read: no ORM session needed
            require_in_scope(conn, [cid], scope)
            return readmodel.read_view(conn, self.hierarchy, cid, scope)

    def live_view(self, cid: str, group: bool, months: int, recent: int, scope: Scope = None) -> dict[str, Any] | None:
        """The Customer360 parts assembled from the facts (None: unknown account; `scope` as in stored_view)."""
        with self.db.session() as s:
            require_in_scope(s, [cid], scope)
            return views.customer360(s, cid, group, months, recent, scope)

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
