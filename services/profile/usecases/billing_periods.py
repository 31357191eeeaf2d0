"""Use cases: billing periods (the base's closed month, declaring one closed, settling accounts behind it)."""

from __future__ import annotations

from services.profile.domain.billing import month_str
from services.profile.domain.events import CAUSE_BASE_REFRESH
from services.profile.store.periods import accounts_behind, declare_closed, is_settled, mark_settled
from services.profile.store.refresh import refresh_accounts
from services.profile.usecases.base import ProfileBase


class BillingPeriodCases(ProfileBase):
    """Billing close: queries and settling rounds."""

    def billing_closed_month(self, cached: bool = False) -> str:
        """The base's latest closed billing month now ('YYYY-MM'; '' when none is).

        `cached` answers from what the last recompute or settling round found, when there was
        one (Customer360's hot read); periods close only on such rounds.
        """
        closed = self.periods.known_closed_now if cached else None
        if closed is None:
            with self.read_session() as s:
                closed = self.periods.closed_month(s, None, self.clock())
        return "" if closed is None else month_str(closed)

    def close_billing_period(self, month: str, closed_by: str) -> int:
        """Declare a billing month closed (an operator's bill run is complete); returns accounts recomputed.

        Every month before it counts as closed too. Declaring again keeps the first time.
        """
        with self.write_session() as s:
            declare_closed(self.tx(s).s, month, closed_by, self.clock())
        return self.settle_billing_periods()

    def settle_billing_periods(self, chunk: int = 2000) -> int:
        """Recompute the accounts still behind the base's latest closed month; returns how many.

        A month closing (bills of most of the base arrived, the deadline passed, or an operator
        declared it) changes the accounts whose bill for it is missing, although no record of
        theirs arrived: their fees for it now count as 0. Done once per closed month (marked
        when done, so a crash midway redoes it), a write transaction per `chunk` accounts.
        """
        with self.read_session() as s:
            closed = self.periods.closed_month(s, None, self.clock())
            if closed is None or is_settled(s, month_str(closed)):
                return 0
            ids = accounts_behind(s, closed)
        for start in range(0, len(ids), chunk):
            with self.write_session() as s:
                tx = self.tx(s)  # the writer lock: another thread or replica may be settling too
                if start == 0 and is_settled(s, month_str(closed)):
                    return 0
                rules, types = self.rules_for(s)
                refresh_accounts(tx, ids[start : start + chunk], rules, types, self.revenue_base(s), CAUSE_BASE_REFRESH)
                tx.flush()
        with self.write_session() as s:
            mark_settled(self.tx(s).s, month_str(closed), self.clock())
        return len(ids)
