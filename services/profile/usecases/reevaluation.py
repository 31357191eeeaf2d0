"""Use cases: re-evaluation not driven by records (revenue-share re-ranking, window expiry, tag jobs)."""

from __future__ import annotations

import datetime as dt

from services.profile.domain.events import CAUSE_WINDOW_EXPIRY
from services.profile.store.actions import due_accounts, next_expiry
from services.profile.store.refresh import refresh_accounts, refresh_revenue_shares
from services.profile.store.tagops import all_account_ids, reevaluate
from services.profile.usecases.billing_periods import BillingPeriodCases


class ReevaluationCases(BillingPeriodCases):
    """Revenue shares, expiry and re-evaluation over the whole base."""

    #: Revenue shares are re-ranked when the base's account count or total revenue moved by this
    #: fraction since the last ranking (a bulk load at once; steady drift by the periodic run).
    SHARE_MOVE = 0.005

    def shares_stale(self) -> bool:
        """Whether the base moved enough since the last re-ranking of revenue shares."""
        with self.db.session() as s:
            base = self.revenue_base(s, force=True)
        last = self._shares_ranked_on
        if last is None:
            return len(base) > 0
        count, total = last
        return abs(len(base) - count) > self.SHARE_MOVE * max(count, 1) or abs(
            base.total - total
        ) > self.SHARE_MOVE * max(abs(total), 1.0)

    def refresh_revenue_shares(self, chunk: int = 2000) -> int:
        """Re-rank every account's revenue share on the current base; returns accounts patched.

        One base for the whole pass; a write transaction per `chunk` accounts, so a re-rank of
        a large base never holds the writer for long.
        """
        with self.db.session() as s:
            base = self.revenue_base(s, force=True)
            ids = all_account_ids(s)
        patched = 0
        for start in range(0, len(ids), chunk):
            with self.write_session() as s:
                tx = self.tx(s)
                rules, types = self.rules_for(s)
                patched += refresh_revenue_shares(tx, base, ids[start : start + chunk], rules, types).accounts
                tx.flush()
        self._shares_ranked_on = (len(base), base.total)
        return patched

    def expire_due(self, limit: int = 500) -> int:
        """Re-evaluate accounts whose time windows expired; returns how many."""
        with self.write_session() as s:
            tx = self.tx(s)
            ids = due_accounts(s, tx.now, limit)
            if ids:
                rules, types = self.rules_for(s)
                refresh_accounts(tx, ids, rules, types, self.revenue_base(s), CAUSE_WINDOW_EXPIRY)
                tx.flush()
        # A billing period can close by the passing of time alone (its deadline): checked here,
        # on the scheduler's round, as well as after every applied batch.
        settled = self.settle_billing_periods() if not ids else 0
        return len(ids) + settled

    def next_expiry(self) -> dt.datetime | None:
        """When the next time window expires."""
        with self.db.session() as s:
            return next_expiry(s)

    def reevaluate(self, tag_ids: set[str] | None, cause: int, progress=None) -> int:
        """Re-evaluate tags over all accounts (a job body)."""
        return reevaluate(
            self.write_session,
            self.clock,
            lambda s: self.revenue_base(s, force=True),
            tag_ids,
            cause,
            progress,
            render=self.render_view,
        )

    def value_tags(self) -> set[str]:
        """Tags whose rules read base-relative features."""
        with self.db.session() as s:
            rules, _ = self.rules_for(s)
        return {r.tag_id for r in rules if "revenue_cum_share_pct" in r.names}
