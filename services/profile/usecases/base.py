"""Use cases layer: the state every profile use case shares (database, clock, caches, renderer).

ProfileBase owns the Database, the clock, the compiled-rule cache, the revenue-base cache
and the in-memory indexes of Customer360 and QuerySegment, and opens the right kind of
transaction (serialised writes for anything that changes accounts, plain sessions for
reads). The view renderer is passed explicitly with every write transaction (`tx`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.profile.domain.billing import ClosePolicy, RevenueBase
from services.profile.domain.tags import TagRule
from services.profile.store import state
from services.profile.store.loader import PERIODS_KEY, BillingPeriods, revenue_base_at
from services.profile.store.readmodel import Hierarchy, ViewRenderer
from services.profile.store.scope import Scope, visible
from services.profile.store.segments import FeatureSnapshot
from services.profile.store.tagdefs import RuleCache, install_builtin_pack
from services.profile.store.writer import Tx
from telco360_runtime.db import Database
from telco360_runtime.errors import PermissionDenied
from telco360_runtime.timeconv import now_utc

Clock = Callable[[], dt.datetime]

#: The one answer for an account outside the caller's scope, whether it exists or not: an
#: account manager learns nothing about accounts that are not theirs (not even existence).
OUT_OF_SCOPE = "the account is not among the accounts of your team"


def require_in_scope(s: Session | Connection, customer_ids: list[str], scope: Scope) -> None:
    """PERMISSION_DENIED unless every named account is a live account of the scope (None: any account).

    Unknown and erased accounts answer exactly like other teams' accounts, so the answer
    never reveals whether an account exists.
    """
    if scope is None or not customer_ids:
        return
    if not set(customer_ids) <= visible(s, customer_ids, scope):
        raise PermissionDenied(OUT_OF_SCOPE)


class ProfileBase:
    """Shared state and transactions of profile's use cases."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = now_utc,
        source_priority: dict[str, int] | None = None,
        base_ttl_seconds: float = 10.0,
        render_view: ViewRenderer | None = None,
        close_policy: ClosePolicy | None = None,
        erasure_services: Sequence[str] = (),
    ) -> None:
        self.db = db
        # The peers an erasure must reach: one made from the log owes them their parts at once.
        self.erasure_services = tuple(erasure_services)
        self.periods = BillingPeriods(close_policy)
        self.render_view = render_view
        self.clock = clock
        self.priority = source_priority
        self.rules = RuleCache()
        self.snapshot = FeatureSnapshot()
        self.hierarchy = Hierarchy()
        self._base: RevenueBase | None = None
        self._base_loaded = 0.0
        self._base_ttl = base_ttl_seconds
        self._past_bases: dict[dt.datetime, RevenueBase] = {}
        self._shares_ranked_on: tuple[int, float] | None = None  # (accounts, total) of the base last used

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A serialised write session computing features under this store's billing close policy."""
        with self.db.write_session() as s:
            s.info[PERIODS_KEY] = self.periods
            yield s

    def tx(self, s: Session) -> Tx:
        """The write transaction on `s`, keeping the Customer360 read model when a renderer is set."""
        return Tx(s, self.clock(), self.render_view)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read session that computes features under this store's billing close policy."""
        with self.db.session() as s:
            s.info[PERIODS_KEY] = self.periods
            yield s

    def install_builtin_tags(self) -> None:
        """Store the built-in tag pack definitions that are missing."""
        with self.write_session() as s:
            Tx(s, self.clock())
            install_builtin_pack(s, self.clock())

    def warm_indexes(self) -> None:
        """Load the in-memory indexes the first Customer360 and QuerySegment would otherwise load."""
        with self.db.session() as s:
            self.hierarchy.warm(s)
            self.snapshot.warm(s)

    def revenue_base(self, s: Session, force: bool = False) -> RevenueBase:
        """The current 12-month revenue distribution of active accounts (cached briefly)."""
        if force or self._base is None or time.monotonic() - self._base_loaded > self._base_ttl:
            self._base = RevenueBase(state.active_revenues(s))
            self._base_loaded = time.monotonic()
        return self._base

    def rules_for(self, s: Session, _attributes_changed: bool = False) -> tuple[list[TagRule], dict[str, str]]:
        """(rules, types) as of this session."""
        return self.rules.get(s)

    def _base_at(self, s: Session, as_of: dt.datetime) -> RevenueBase:
        """The revenue distribution at a past moment (exports ask for the same as_of many times)."""
        base = self._past_bases.get(as_of)
        if base is None:
            base = revenue_base_at(s, as_of)
            if len(self._past_bases) >= 8:
                self._past_bases.pop(next(iter(self._past_bases)))
            self._past_bases[as_of] = base
        return base
