"""Group commit of ReserveContact on SQLite: many reservations, one transaction, one fsync.

SQLite lets one writer in at a time and, with `synchronous=FULL` (the runtime's default, kept
because a lost ledger entry could let a cap be exceeded after a crash), every commit waits
for an fsync of several milliseconds while holding the write lock. Reservations of this
process are therefore queued and run by one thread, one after another, inside ONE write
transaction per batch (each in its own SAVEPOINT), which commits once for the whole batch:
- each unit sees every earlier unit's writes (same connection, same transaction), so the
  check-then-insert of each reservation is exactly as serialised as before: no cap can be
  exceeded, and a reused idempotency key in the same batch is seen as a replay;
- a unit that raises is rolled back to its savepoint and gets its own exception; the others
  are unaffected; if the commit itself fails every unit of the batch gets that error;
- a caller's answer is released only after the commit, so nothing granted is ever lost.
Other processes on the same file still meet at BEGIN IMMEDIATE. PostgreSQL does not use
this: its per-account locks let reservations of different accounts run in parallel and its
WAL writer already groups concurrent commits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from telco360_runtime.db import Database

from services.contact.store.ledger import write_transaction

T = TypeVar("T")
_Unit = tuple[Callable[[Session], Any], concurrent.futures.Future]


class GroupCommit:
    """Runs write units of one database in batches, one transaction and one commit per batch."""

    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self.db, self.max_batch = db, max_batch
        self._queue: queue.SimpleQueue[_Unit | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def run(self, unit: Callable[[Session], T]) -> T:
        """Run `unit(session)` in the next batch and return its result (or raise its error)."""
        self._ensure_started()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((unit, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the batching thread once the queued units are done."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="contact-group-commit", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    unit = self._queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(unit)
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Unit]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with write_transaction(self.db) as session:
                for unit, _ in batch:
                    savepoint = session.begin_nested()
                    try:
                        result = unit(session)
                    except BaseException as error:  # noqa: BLE001 - handed to that unit's caller
                        savepoint.rollback()
                        outcomes.append((False, error))
                    else:
                        savepoint.commit()
                        outcomes.append((True, result))
        except BaseException as error:  # noqa: BLE001 - the commit failed: every unit fails
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), (ok, value) in zip(batch, outcomes):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
