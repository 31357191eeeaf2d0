"""Group commit of ReserveContact on SQLite: many reservations, one transaction, one fsync.

SQLite lets one writer in at a time and, with `synchronous=FULL` (the runtime's default, kept
because a lost ledger entry could let a cap be exceeded after a crash), every commit waits
for an fsync of several milliseconds while holding the write lock. Reservations of this
process are therefore queued and run by one thread, one after another, inside ONE write
transaction per batch (each in its own SAVEPOINT), which commits once for the whole batch:
- each unit sees every earlier unit's writes (same connection, same transaction), so the
  check-then-insert of each reservation is exactly as serialised as before: no cap can be
  exceeded, and a reused idempotency key in the same batch is seen as a replay;
- a unit that raises (anything, BaseException included) is rolled back to its savepoint and
  gets its own exception; the others are unaffected; if the commit itself fails every unit
  of the batch gets that error;
- a caller's answer is released only after the commit, so nothing granted is ever lost.
Other processes on the same file still meet at BEGIN IMMEDIATE. PostgreSQL does not use
this: its per-account locks let reservations of different accounts run in parallel and its
WAL writer already groups concurrent commits.

The thread is shared by every call, so no single call may harm it:
- a caller whose deadline passes or who is cancelled before its unit starts is skipped (its
  future is cancelled; `set_running_or_notify_cancel` says so) and nothing is written for
  it; once a unit runs its future can no longer be cancelled, and every answer is handed
  over through a guard that ignores a future somebody else already settled;
- whatever escapes a batch fails that batch's callers only and the loop goes on; should the
  thread itself end unexpectedly, the next call starts a new one, and `on_health(False)` is
  reported while it is down (the service turns health NOT_SERVING), `on_health(True)` once
  it runs again;
- the thread is started in a detached context (telco360_runtime.context.start_thread), so
  its log lines never carry the request id of the call that happened to start it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services.contact.store.ledger import write_transaction
from telco360_runtime import context
from telco360_runtime.db import Database
from telco360_runtime.logs import get_logger

T = TypeVar("T")
_Unit = tuple[Callable[[Session], Any], concurrent.futures.Future]
HealthCallback = Callable[[bool], None]


def _settle(future: concurrent.futures.Future, ok: bool, value: Any) -> None:
    """Hand a unit's answer to its caller unless the future was settled already."""
    if future.done():
        return
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except concurrent.futures.InvalidStateError:
        pass  # settled concurrently: the caller already has an answer


class GroupCommit:
    """Runs write units of one database in batches, one transaction and one commit per batch."""

    def __init__(self, db: Database, max_batch: int = 64, on_health: HealthCallback | None = None) -> None:
        self.db, self.max_batch = db, max_batch
        self.on_health = on_health
        self._queue: queue.SimpleQueue[_Unit | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closing = False
        self._log = get_logger(component="group_commit")
        self.restarts = 0
        """How many times the thread had to be started again after ending unexpectedly."""

    @property
    def alive(self) -> bool:
        """Whether the batching thread runs (False before the first call and after close)."""
        return self._thread is not None and self._thread.is_alive()

    async def run(self, unit: Callable[[Session], T]) -> T:
        """Run `unit(session)` in the next batch and return its result (or raise its error).

        Cancelling the awaiting call before the unit starts withdraws it; after that the
        unit completes (and commits) as if the caller were still waiting.
        """
        self._ensure_started()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((unit, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the batching thread once the queued units are done."""
        self._closing = True
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self.alive:
            return
        with self._start_lock:
            if self.alive:
                return
            if self._thread is not None:
                self.restarts += 1
                self._log.error("group_commit_thread_restarted", restarts=self.restarts)
            self._closing = False
            self._thread = context.start_thread(self._supervise, name="contact-group-commit")

    def _report(self, healthy: bool) -> None:
        if self.on_health is None:
            return
        try:
            self.on_health(healthy)
        except Exception as error:  # noqa: BLE001 - a health report never stops the worker
            self._log.warning("group_commit_health_report_failed", error=type(error).__name__)

    def _supervise(self) -> None:
        """The thread: the batching loop, started again whenever something escapes it."""
        self._report(True)
        try:
            while True:
                try:
                    self._loop()
                    return
                except BaseException as error:  # noqa: BLE001 - the shared worker must survive
                    self._report(False)
                    self.restarts += 1
                    self._log.error("group_commit_loop_failed", error=type(error).__name__, restarts=self.restarts)
                    self._report(True)
        finally:
            if not self._closing:
                self._report(False)  # ended without close(): the next call starts it again

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
            try:
                self._run_batch(batch)
            except BaseException as error:  # noqa: BLE001 - whatever happened, only this batch fails
                self._log.error("group_commit_batch_failed", error=type(error).__name__, units=len(batch))
                for item in batch:
                    future = item[1] if isinstance(item, tuple) and len(item) == 2 else None
                    if isinstance(future, concurrent.futures.Future):
                        _settle(future, False, error)

    def _run_batch(self, batch: list[_Unit]) -> None:
        # Withdrawn callers (cancelled, deadline passed) are skipped; the rest can no
        # longer be cancelled, so every answer below reaches a live caller or nobody.
        live = [(unit, future) for unit, future in batch if future.set_running_or_notify_cancel()]
        if not live:
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            with write_transaction(self.db) as session:
                for unit, _ in live:
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
            for _, future in live:
                _settle(future, False, error)
            return
        for (_, future), (ok, value) in zip(live, outcomes, strict=False):
            _settle(future, ok, value)
