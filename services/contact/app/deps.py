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
from collections.abc import Callable

from sqlalchemy.orm import Session

from telco360_runtime.db import Database
from telco360_runtime.jobs import JobRunner, JobStore

from services.contact.domain.model import Campaign, Offer, Policy
from services.contact.app.journal import NboJournal
from services.contact.peers import Peers
from services.contact.store import catalogue as repo


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

    def get(self, session: Session) -> Catalogue:
        """The current catalogue, checked against the store within `session`."""
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


@dataclasses.dataclass(frozen=True)
class Config:
    """Use-case settings taken from ContactSettings."""

    valuable_value_fen: int = 50_000_000
    simulation_direct_max_contacts: int = 20_000


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
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    rng: random.Random = dataclasses.field(default_factory=random.Random)
