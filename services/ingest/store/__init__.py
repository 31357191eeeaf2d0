"""The ingest store (store layer): SQLAlchemy 2.0 on SQLite or PostgreSQL (models.py: the tables).

`IngestStore` is the repository the use cases use. Its methods are blocking; the use cases
call them through `Database.run` so the event loop never waits on I/O. `apply_batch` is one
unit of work (one `write_session`), as are `apply_erasure` / `lift_erasure` and each chunk of
retention work; the reads use a plain connection.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import threading
import time
from collections.abc import Sequence

from services.ingest.domain.entries import LogItem, QuarantineFilter, QuarantineItem, Stats
from services.ingest.domain.erasure import Erasure
from services.ingest.domain.ingest import Outcome, Prepared
from services.ingest.store import batch, erasure, queries
from telco360_runtime.db import Database, migrate

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent / "migrations"

__all__ = [
    "IngestStore",
    "LogItem",
    "MIGRATIONS_DIR",
    "QuarantineFilter",
    "QuarantineItem",
    "Stats",
    "migrate_store",
]


def migrate_store(url: str) -> None:
    """Bring the database at `url` to the latest schema (Alembic upgrade head)."""
    migrate(url, MIGRATIONS_DIR)


class IngestStore:
    """Repository of records, the ordered log, the quarantine and the erasure tombstones."""

    def __init__(self, database: Database) -> None:
        self.db = database
        # Writers in this process queue here rather than on the database lock: SQLite's
        # busy handler sleeps in steps, which would cost far more than a mutex hand-off.
        self._write_lock = threading.Lock()

    def apply_batch(self, items: Sequence[Prepared]) -> tuple[list[Outcome], int]:
        """Apply a batch in one committed transaction: (outcomes, last sequence after it)."""
        now_us = time.time_ns() // 1000
        with self._write_lock, self.db.write_session() as session:
            return batch.apply_batch(session.connection(), items, now_us)

    def apply_erasure(self, customer_id: str, erasure_id: str, now: dt.datetime) -> Erasure:
        """Erase an account in one committed transaction (store/erasure.py); a repeat answers
        the stored tombstone (`repeated`)."""
        with self._write_lock, self.db.write_session() as session:
            return erasure.apply_erasure(session.connection(), customer_id, erasure_id, now)

    def lift_erasure(self, customer_id: str) -> bool:
        """Delete an account's tombstone (one transaction); False when there was none."""
        with self._write_lock, self.db.write_session() as session:
            return erasure.lift_erasure(session.connection(), customer_id)

    def get_erasure(self, customer_id: str) -> Erasure | None:
        """An account's tombstone, if any."""
        with self.db.engine.connect() as conn:
            return erasure.get_erasure(conn, customer_id)

    def expire_quarantine(self, before_us: int) -> int:
        """Delete a chunk of quarantine entries received before `before_us` (one transaction):
        how many; fewer than `erasure.CHUNK` means none is left."""
        with self._write_lock, self.db.write_session() as session:
            return erasure.expire_quarantine(session.connection(), before_us)

    def scrub_old_payloads(self, before_us: int) -> tuple[int, int]:
        """Blank the personal fields of a chunk of log payloads ingested before `before_us` (one
        transaction): (scanned, changed); fewer than `erasure.CHUNK` scanned means none is left."""
        with self._write_lock, self.db.write_session() as session:
            return erasure.scrub_old_payloads(session.connection(), before_us)

    def read_log(self, after: int, limit: int) -> list[LogItem]:
        """Up to `limit` committed log entries after a sequence, in order."""
        with self.db.engine.connect() as conn:
            return queries.read_log(conn, after, limit)

    def last_sequence(self) -> int:
        """The highest committed sequence."""
        with self.db.engine.connect() as conn:
            return queries.last_sequence(conn)

    def stats(self) -> Stats:
        """Summary counts."""
        with self.db.engine.connect() as conn:
            return queries.stats(conn)

    def list_quarantine(
        self,
        flt: QuarantineFilter,
        after: tuple[int, int] | None,
        limit: int,
        count_total: bool = True,
    ) -> tuple[list[QuarantineItem], int]:
        """A page of quarantine entries and the total matching the filter (-1 without
        `count_total`)."""
        with self.db.engine.connect() as conn:
            return queries.list_quarantine(conn, flt, after, limit, count_total)

    def quarantine_ids(self, flt: QuarantineFilter, limit: int) -> list[int]:
        """Ids of entries matching a filter, oldest first."""
        with self.db.engine.connect() as conn:
            return queries.quarantine_ids(conn, flt, limit)

    def quarantine_keys(self, ids: list[int]) -> dict[int, tuple[str, str]]:
        """(source, source_record_id) of quarantine entries by id."""
        with self.db.engine.connect() as conn:
            return queries.quarantine_keys(conn, ids)

    def get_quarantine(self, ids: list[int]) -> dict[int, QuarantineItem]:
        """Quarantine entries by id."""
        with self.db.engine.connect() as conn:
            return queries.get_quarantine(conn, ids)
