"""Long-running jobs with progress, persisted in the owning service's store.

A service adds the `jobs` table to its metadata with `jobs_table(metadata)` (and to its
Alembic migration), then starts work with `JobRunner.start(kind, fn)`. `fn` receives a
`Progress` to report units done; state and progress are written to the store (throttled),
so any replica can answer `GetJob`. A job interrupted by a restart is marked FAILED at
start-up, never left RUNNING forever.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, select, update
from sqlalchemy.engine import CursorResult

from telco360_runtime.db import Database
from telco360_runtime.errors import DomainError, NotFound
from telco360_runtime.timeconv import now_utc
from telco360_runtime.workers import is_leader

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED = "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"


def jobs_table(metadata: MetaData) -> Table:
    """The `jobs` table definition, added to a service's metadata."""
    return Table(
        "jobs",
        metadata,
        Column("job_id", String(64), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("state", String(16), nullable=False),
        Column("done", Integer, nullable=False, default=0),
        Column("total", Integer, nullable=False, default=0),
        Column("message", Text, nullable=False, default=""),
        Column("error_message", Text, nullable=False, default=""),
        Column("result_ref", String(256), nullable=False, default=""),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True), nullable=True),
    )


@dataclass
class JobView:
    """A job's current state as stored."""

    job_id: str
    kind: str
    state: str
    done: int
    total: int
    message: str
    error_message: str
    result_ref: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class Progress:
    """Handed to a job's function to report progress; writes are throttled."""

    def __init__(self, store: JobStore, job_id: str, min_interval: float = 0.25) -> None:
        self._store, self._job_id, self._min_interval = store, job_id, min_interval
        self._last_write = 0.0
        self.done = 0
        self.total = 0
        self.message = ""

    def update(
        self, done: int | None = None, total: int | None = None, message: str | None = None, force: bool = False
    ) -> None:
        """Set progress; persisted at most every `min_interval` seconds unless `force`."""
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if message is not None:
            self.message = message
        now = time.monotonic()
        if force or now - self._last_write >= self._min_interval:
            self._last_write = now
            self._store.set_progress(self._job_id, self.done, self.total, self.message)

    def advance(self, units: int = 1, message: str | None = None) -> None:
        """Add `units` to the done count."""
        self.update(done=self.done + units, message=message)


class JobStore:
    """Reads and writes job rows."""

    def __init__(self, db: Database, table: Table) -> None:
        self.db, self.table = db, table

    def create(self, kind: str) -> str:
        job_id = uuid.uuid4().hex
        with self.db.write_session() as s:
            s.execute(
                self.table.insert().values(
                    job_id=job_id,
                    kind=kind,
                    state=PENDING,
                    done=0,
                    total=0,
                    message="queued",
                    error_message="",
                    result_ref="",
                    created_at=now_utc(),
                )
            )
        return job_id

    def set_progress(self, job_id: str, done: int, total: int, message: str) -> None:
        with self.db.write_session() as s:
            s.execute(
                update(self.table)
                .where(self.table.c.job_id == job_id)
                .values(state=RUNNING, done=done, total=total, message=message[:500])
            )

    def finish(self, job_id: str, state: str, *, message: str = "", error: str = "", result_ref: str = "") -> None:
        with self.db.write_session() as s:
            values = {"state": state, "finished_at": now_utc(), "error_message": error[:2000], "result_ref": result_ref}
            if message:
                values["message"] = message[:500]
            s.execute(update(self.table).where(self.table.c.job_id == job_id).values(**values))

    def get(self, job_id: str) -> JobView:
        with self.db.session() as s:
            row = s.execute(select(self.table).where(self.table.c.job_id == job_id)).mappings().first()
        if row is None:
            raise NotFound("job", job_id)
        return JobView(**dict(row))

    def fail_interrupted(self) -> int:
        """Mark jobs left PENDING/RUNNING by a previous process as FAILED; returns how many.

        With several worker processes (workers.py) only the leader does it, at its start and
        before any follower starts: a follower would fail jobs its siblings are running.
        """
        if not is_leader():
            return 0
        with self.db.write_session() as s:
            result = cast(
                CursorResult[Any],
                s.execute(
                    update(self.table)
                    .where(self.table.c.state.in_([PENDING, RUNNING]))
                    .values(state=FAILED, finished_at=now_utc(), error_message="interrupted by a service restart")
                ),
            )
            return result.rowcount or 0


JobFunction = Callable[[Progress], str]
"""A job body: does the work, reports progress, returns a result reference ('' if none)."""


def job_error_sentence(job_id: str, error: BaseException) -> str:
    """What a failed job tells its caller: a domain error's own sentence, else a pointer to the log.

    Raw exception text (class names, parser output, peer RpcError dumps) can carry request
    data and means nothing to an operator, so it stays in the server log only.
    """
    if isinstance(error, DomainError):
        return error.message[:1000]
    return f"the job failed unexpectedly ({type(error).__name__}); see the server log for job {job_id}"


class JobRunner:
    """Runs job functions on background threads and records their outcome."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._threads: dict[str, threading.Thread] = {}
        self._log = structlog.get_logger()

    def start(self, kind: str, fn: JobFunction) -> str:
        """Create a job row and run `fn` on its own thread; returns the job id at once."""
        job_id = self.store.create(kind)
        thread = threading.Thread(target=self._run, args=(job_id, kind, fn), name=f"job-{kind}", daemon=True)
        self._threads[job_id] = thread
        thread.start()
        return job_id

    def _run(self, job_id: str, kind: str, fn: JobFunction) -> None:
        progress = Progress(self.store, job_id)
        progress.update(message="started", force=True)
        try:
            result_ref = fn(progress) or ""
        except Exception as error:  # noqa: BLE001 - recorded on the job, never lost
            self._log.error("job_failed", job_id=job_id, kind=kind, exc_info=error)
            self.store.finish(job_id, FAILED, error=job_error_sentence(job_id, error))
        else:
            progress.update(force=True)
            # Keep the job's own closing summary (e.g. "4,812 scored, 37 band changes").
            summary = progress.message if progress.message not in ("", "started") else "done"
            self.store.finish(job_id, SUCCEEDED, message=summary, result_ref=result_ref)
        finally:
            self._threads.pop(job_id, None)

    async def wait(self, job_id: str, timeout: float | None = None) -> JobView:
        """Await a job's end (tests and CLIs); raises TimeoutError."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            view = self.store.get(job_id)
            if view.state in (SUCCEEDED, FAILED, CANCELLED):
                return view
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {view.state}")
            await asyncio.sleep(0.05)

    def join_all(self, timeout: float = 30.0) -> None:
        """Wait for running job threads (graceful shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)
