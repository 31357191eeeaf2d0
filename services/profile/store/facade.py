"""ProfileStore: the one object handlers and background tasks use to reach profile's store.

It owns the Database, the clock, the compiled-rule cache and the revenue-base cache, and
wraps every operation in the right kind of transaction (serialised writes for anything that
changes accounts, plain sessions for reads).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.profile.domain.billing import ClosePolicy, RevenueBase, month_str
from services.profile.domain.features import FeatureResult
from services.profile.domain.model import STATUS_ACTIVE, LogRecord
from services.profile.store.apply import ApplyResult, apply_batch, refresh_pending
from services.profile.store.codec import utc
from services.profile.store.loader import PERIODS_KEY, BillingPeriods, features_at, known_customers, revenue_base_at
from services.profile.store.models import Account, PendingRefresh, SyncState
from services.profile.store.readmodel import RENDER_KEY, ViewRenderer
from services.profile.store.tagdefs import RuleCache, install_builtin_pack
from services.profile.store.writer import Tx, last_event_sequence
from telco360_runtime.db import Database
from telco360_runtime.timeconv import now_utc

Clock = Callable[[], dt.datetime]


class ProfileStore:
    """Profile's store operations."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = now_utc,
        source_priority: dict[str, int] | None = None,
        base_ttl_seconds: float = 10.0,
        render_view: ViewRenderer | None = None,
        close_policy: ClosePolicy | None = None,
    ) -> None:
        self.db = db
        self.periods = BillingPeriods(close_policy)
        self.render_view = render_view
        self.clock = clock
        self.priority = source_priority
        self.rules = RuleCache()
        self._base: RevenueBase | None = None
        self._base_loaded = 0.0
        self._base_ttl = base_ttl_seconds
        self._past_bases: dict[dt.datetime, RevenueBase] = {}
        self._shares_ranked_on: tuple[int, float] | None = None  # (accounts, total) of the base last used

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A serialised write session that also keeps the Customer360 read model (when a renderer is set)."""
        with self.db.write_session() as s:
            if self.render_view is not None:
                s.info[RENDER_KEY] = self.render_view
            s.info[PERIODS_KEY] = self.periods
            yield s

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read session that computes features under this store's billing close policy."""
        with self.db.session() as s:
            s.info[PERIODS_KEY] = self.periods
            yield s

    # -- set-up -------------------------------------------------------------------------
    def install_builtin_tags(self) -> int:
        """Store the built-in tag pack definitions that are missing."""
        with self.write_session() as s:
            Tx(s, self.clock())
            return install_builtin_pack(s, self.clock())

    # -- revenue base -------------------------------------------------------------------
    def revenue_base(self, s: Session, force: bool = False) -> RevenueBase:
        """The current 12-month revenue distribution of active accounts (cached briefly)."""
        if force or self._base is None or time.monotonic() - self._base_loaded > self._base_ttl:
            values = s.execute(
                select(Account.revenue_12m).where(
                    Account.status == STATUS_ACTIVE, Account.erased.is_(False), Account.revenue_12m.is_not(None)
                )
            ).scalars()
            self._base = RevenueBase(values)
            self._base_loaded = time.monotonic()
        return self._base

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
        from services.profile.store.refresh import refresh_revenue_shares
        from services.profile.store.tagops import all_account_ids

        with self.db.session() as s:
            base = self.revenue_base(s, force=True)
            ids = all_account_ids(s)
        patched = 0
        for start in range(0, len(ids), chunk):
            with self.write_session() as s:
                tx = Tx(s, self.clock())
                rules, types = self.rules_for(s)
                patched += refresh_revenue_shares(tx, base, ids[start : start + chunk], rules, types).accounts
                tx.flush()
        self._shares_ranked_on = (len(base), base.total)
        return patched

    def rules_for(self, s: Session, _attributes_changed: bool = False):
        """(rules, types) as of this session."""
        return self.rules.get(s)

    # -- applying the log ---------------------------------------------------------------
    def apply(self, records: Sequence[LogRecord], defer: bool = False) -> ApplyResult:
        """Apply log entries and advance the cursor in one transaction (see apply_batch for defer)."""
        with self.write_session() as s:
            result = apply_batch(s, records, self.clock(), self.rules_for, self.revenue_base(s), self.priority, defer)
        if not defer:
            self.settle_billing_periods()
        return result

    def refresh_pending(self, limit: int = 1000) -> int:
        """Refresh accounts queued in catch-up mode; returns how many (0 when none are left)."""
        with self.write_session() as s:
            done = refresh_pending(s, self.clock(), self.rules_for, self.revenue_base(s), self.priority, limit)
        if not done:
            self.settle_billing_periods()
        return done

    # -- billing periods ----------------------------------------------------------------
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
        from services.profile.store.periods import declare_closed

        with self.write_session() as s:
            declare_closed(Tx(s, self.clock()).s, month, closed_by, self.clock())
        return self.settle_billing_periods()

    def settle_billing_periods(self, chunk: int = 2000) -> int:
        """Recompute the accounts still behind the base's latest closed month; returns how many.

        A month closing (bills of most of the base arrived, the deadline passed, or an operator
        declared it) changes the accounts whose bill for it is missing, although no record of
        theirs arrived: their fees for it now count as 0. Done once per closed month (marked
        when done, so a crash midway redoes it), a write transaction per `chunk` accounts.
        """
        from services.profile.domain.events import CAUSE_BASE_REFRESH
        from services.profile.store.periods import accounts_behind, is_settled, mark_settled
        from services.profile.store.refresh import refresh_accounts

        with self.read_session() as s:
            closed = self.periods.closed_month(s, None, self.clock())
            if closed is None or is_settled(s, month_str(closed)):
                return 0
            ids = accounts_behind(s, closed)
        for start in range(0, len(ids), chunk):
            with self.write_session() as s:
                tx = Tx(s, self.clock())  # the writer lock: another thread or replica may be settling too
                if start == 0 and is_settled(s, month_str(closed)):
                    return 0
                rules, types = self.rules_for(s)
                refresh_accounts(tx, ids[start : start + chunk], rules, types, self.revenue_base(s), CAUSE_BASE_REFRESH)
                tx.flush()
        with self.write_session() as s:
            mark_settled(Tx(s, self.clock()).s, month_str(closed), self.clock())
        return len(ids)

    def applied_sequence(self) -> int:
        """The durable cursor."""
        with self.db.session() as s:
            return s.execute(select(SyncState.applied_sequence).where(SyncState.id == 1)).scalar() or 0

    def sync_status(self) -> dict:
        """Cursor, last apply time, accounts and last event sequence."""
        with self.db.session() as s:
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

    def known_ingest_sequence(self) -> int:
        """The highest sequence ingest reported or profile applied (0 when none), as stored."""
        with self.db.session() as s:
            return s.execute(select(SyncState.ingest_last_sequence).where(SyncState.id == 1)).scalar() or 0

    def note_ingest_sequence(self, sequence: int) -> None:
        """Remember the highest sequence ingest reported (for the lag)."""
        with self.write_session() as s:
            tx = Tx(s, self.clock())
            if sequence > (tx.state.ingest_last_sequence or 0):
                tx.state.ingest_last_sequence = sequence

    def _base_at(self, s: Session, as_of: dt.datetime) -> RevenueBase:
        """The revenue distribution at a past moment (exports ask for the same as_of many times)."""
        base = self._past_bases.get(as_of)
        if base is None:
            base = revenue_base_at(s, as_of)
            if len(self._past_bases) >= 8:
                self._past_bases.pop(next(iter(self._past_bases)))
            self._past_bases[as_of] = base
        return base

    # -- features -----------------------------------------------------------------------
    def features(self, customer_ids: list[str], as_of: dt.datetime | None) -> tuple[list[FeatureResult], set[str]]:
        """Point-in-time features of known accounts and the set of ids known at as_of."""
        with self.read_session() as s:
            found = known_customers(s, customer_ids, as_of)
            ids = [c for c in dict.fromkeys(customer_ids) if c in found]
            base = self.revenue_base(s) if as_of is None else self._base_at(s, as_of)
            return features_at(s, ids, as_of, self.clock(), base, self.priority), found

    # -- writes besides the log ----------------------------------------------------------
    def record_scores(self, scores) -> dict:
        """Store scores and react (tags, risk-band events)."""
        from services.profile.store.actions import record_scores

        with self.write_session() as s:
            tx = Tx(s, self.clock())
            rules, types = self.rules_for(s)
            return record_scores(tx, scores, rules, types, self.revenue_base(s))

    def erase(self, customer_id: str, reason: str, purge: bool) -> dict[str, int] | None:
        """Erase an account's personal data."""
        from services.profile.store.actions import erase_customer

        with self.write_session() as s:
            return erase_customer(Tx(s, self.clock()), customer_id, reason, purge)

    def expire_due(self, limit: int = 500) -> int:
        """Re-evaluate accounts whose time windows expired; returns how many."""
        from services.profile.domain.events import CAUSE_WINDOW_EXPIRY
        from services.profile.store.actions import due_accounts
        from services.profile.store.refresh import refresh_accounts

        with self.write_session() as s:
            tx = Tx(s, self.clock())
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
        from services.profile.store.actions import next_expiry

        with self.db.session() as s:
            return next_expiry(s)

    def reevaluate(self, tag_ids: set[str] | None, cause: int, progress=None) -> int:
        """Re-evaluate tags over all accounts (a job body)."""
        from services.profile.store.tagops import reevaluate

        return reevaluate(
            self.write_session, self.clock, lambda s: self.revenue_base(s, force=True), tag_ids, cause, progress
        )
