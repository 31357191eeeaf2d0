"""Use cases of erasure and retention (usecases layer, issue #15): apply and lift an account's
erasure, and the periodic retention round.

An erasure is one store transaction (IngestStore.apply_erasure) and idempotent: the
tombstone holds what the first application removed and when, and a repeat answers that.
Retention works in chunks, one short transaction each, so it never holds the log's writer
lock for long; the round logs its counts (never a value).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol

from services.ingest.domain.erasure import (
    CHUNK,
    Erasure,
    RetentionReport,
    check_apply_request,
    check_lift_request,
    cutoff_us,
)
from telco360_runtime.db import Database
from telco360_runtime.logs import get_logger

_log = get_logger(component="retention")


class ErasureStore(Protocol):
    """What erasure and retention need from a store (services/ingest/store implements it)."""

    def apply_erasure(self, customer_id: str, erasure_id: str, now: dt.datetime) -> Erasure: ...

    def lift_erasure(self, customer_id: str) -> bool: ...

    def expire_quarantine(self, before_us: int) -> int: ...

    def scrub_old_payloads(self, before_us: int) -> tuple[int, int]: ...


class Erasures:
    """Applies and lifts erasures in the store's thread pool."""

    def __init__(self, db: Database, store: ErasureStore, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.store = store
        self.clock = clock

    async def apply(self, erasure_id: str, customer_id: str) -> Erasure:
        """Erase the account (or answer its existing erasure)."""
        check_apply_request(erasure_id, customer_id)
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        return await self.db.run(self.store.apply_erasure, customer_id, erasure_id, now)

    async def lift(self, customer_id: str, reason: str) -> bool:
        """Lift the account's tombstone; False when it had none. `reason` is checked, not kept
        (profile records the reactivation and its reason)."""
        check_lift_request(customer_id, reason)
        return await self.db.run(self.store.lift_erasure, customer_id)


class Retention:
    """The retention round: quarantine entries and log payloads past their periods (0 = keep)."""

    def __init__(
        self,
        db: Database,
        store: ErasureStore,
        *,
        quarantine_days: int,
        log_payload_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.store = store
        self.quarantine_days = quarantine_days
        self.log_payload_days = log_payload_days
        self.clock = clock

    @property
    def enabled(self) -> bool:
        """Whether any retention period is set."""
        return self.quarantine_days > 0 or self.log_payload_days > 0

    async def run(self, now: float | None = None) -> RetentionReport:
        """One round (a periodic task; tests pass `now`): delete quarantine entries received,
        and blank the personal fields of log payloads ingested, longer ago than their periods."""
        now = self.clock() if now is None else now
        deleted = scanned = blanked = 0
        before = cutoff_us(now, self.quarantine_days)
        if before is not None:
            while True:
                count = await self.db.run(self.store.expire_quarantine, before)
                deleted += count
                if count < CHUNK:
                    break
        before = cutoff_us(now, self.log_payload_days)
        if before is not None:
            while True:
                seen, changed = await self.db.run(self.store.scrub_old_payloads, before)
                scanned += seen
                blanked += changed
                if seen < CHUNK:
                    break
        report = RetentionReport(deleted, scanned, blanked)
        _log.info(
            "retention_applied",
            quarantine_deleted=deleted,
            log_entries_scanned=scanned,
            log_payloads_blanked=blanked,
            quarantine_retention_days=self.quarantine_days,
            log_payload_retention_days=self.log_payload_days,
        )
        return report
