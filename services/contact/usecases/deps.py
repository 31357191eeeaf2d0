"""Shared dependencies of the use cases, and the catalogue cache.

The catalogue (policies, offers, campaigns) is read on every decision. Each replica keeps
it in memory together with the catalogue generation it was loaded at; every call reads
the one-row generation counter inside its own transaction and reloads when it moved, so a
change made through any replica takes effect on the very next decision everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from services.contact.domain.ledger import TimeBounds
from services.contact.domain.model import Campaign, Offer, Policy
from services.contact.peers.accounts import Peers
from services.contact.store import catalogue as repo
from services.contact.store.batch import GroupCommit
from services.contact.store.ledger import all_offer_stats
from services.contact.usecases.journal import NboJournal
from telco360_runtime.db import Database
from telco360_runtime.errors import NotFound, PermissionDenied, Unavailable
from telco360_runtime.jobs import JobRunner, JobStore


def unknown_account(customer_id: str) -> NotFound:
    """The answer to a decision about an account profile does not know (NOT_FOUND)."""
    return NotFound("account", customer_id, f"account '{customer_id}' is not known to profile")


Scope = frozenset[str] | None
"""Account-manager ids whose accounts the caller may act on (telco360_runtime.context.caller_scope;
None: every account). The api layer reads it from the call and passes it to the use cases."""

#: The one answer for an account outside the caller's scope, whether profile knows it or not,
#: so an account manager learns nothing about other teams' accounts (not even their existence).
OUT_OF_SCOPE = "the account is not among the accounts of your team"


async def require_in_scope(peers: Peers, customer_id: str, scope: Scope) -> None:
    """PERMISSION_DENIED unless the account is one of the scope's (its manager per profile).

    Runs before anything is decided or recorded. When profile is unavailable and nothing is
    cached the account's team cannot be checked: UNAVAILABLE (a scoped caller never gets the
    degraded answer other callers get).
    """
    if scope is None:
        return
    if not customer_id:
        raise PermissionDenied(OUT_OF_SCOPE)
    manager = await peers.account_manager(customer_id)
    if manager is None:
        raise Unavailable("profile", "profile is unavailable: the account's team cannot be checked")
    if manager not in scope:
        raise PermissionDenied(OUT_OF_SCOPE)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """One consistent snapshot of the catalogue."""

    generation: int
    policies: tuple[Policy, ...]
    offers: dict[str, Offer]
    campaigns: dict[str, Campaign]

    @property
    def active_policies(self) -> list[Policy]:
        """Policies in force."""
        return [p for p in self.policies if p.active]


class CatalogueCache:
    """The in-memory catalogue, reloaded when the stored generation moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Catalogue | None = None

    def get(self, session: Session, generation: int | None = None) -> Catalogue:
        """The current catalogue, checked against the store within `session` (or against a
        `generation` the caller already read in it)."""
        if generation is None:
            generation = repo.generation(session)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot
        loaded = Catalogue(
            generation=generation,
            policies=tuple(sorted(repo.all_policies(session), key=lambda p: p.policy_id)),
            offers={o.offer_id: o for o in repo.all_offers(session)},
            campaigns={c.campaign_id: c for c in repo.all_campaigns(session)},
        )
        with self._lock:
            self._snapshot = loaded
        return loaded


class OfferStatsCache:
    """Answers per offer and segment (the propensity evidence), re-read at most every `ttl` s.

    Next-best-offer reads them on every call; they change with every recorded answer, but a
    propensity that learns a few seconds late ranks no differently in practice (Thompson
    sampling explores anyway), so one read per `ttl` serves every call in between.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value: tuple[float, dict[str, dict[str, tuple[int, int]]]] | None = None

    def get(self, session: Session) -> dict[str, dict[str, tuple[int, int]]]:
        """(accepted, declined) per segment and offer id, from cache or `session`."""
        cached = self._value
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        stats = all_offer_stats(session)
        self._value = (now, stats)
        return stats


@dataclasses.dataclass(frozen=True)
class Config:
    """Use-case settings taken from ContactSettings."""

    valuable_value_fen: int = 50_000_000
    simulation_direct_max_contacts: int = 20_000
    stats_ttl_seconds: float = 5.0
    time_bounds: TimeBounds = TimeBounds()
    """How far from now reservations may be dated, and the clock-skew allowance."""


@dataclasses.dataclass
class Deps:
    """Everything the use cases need."""

    db: Database
    peers: Peers
    jobs: JobStore
    runner: JobRunner
    journal: NboJournal
    config: Config = dataclasses.field(default_factory=Config)
    catalogue: CatalogueCache = dataclasses.field(default_factory=CatalogueCache)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    rng: random.Random = dataclasses.field(default_factory=random.Random)
    stats: OfferStatsCache | None = None
    group_commit: GroupCommit | None = None
    """Group commit of reservations (SQLite only; None = one transaction per reservation)."""

    def __post_init__(self) -> None:
        if self.stats is None:
            self.stats = OfferStatsCache(self.config.stats_ttl_seconds)
