"""The audit trail every service keeps: who read or changed what, when, through which RPC.

Each service adds the `audit_entries` table to its metadata with `audit_table(metadata)`
(and creates it in an Alembic migration of its own, with triggers that refuse UPDATE,
DELETE and TRUNCATE: the trail is append-only), builds one `AuditTrail(db, table)` in its
composition root, hands it to the handlers that perform audited operations, and wires
`start` / `close` as startup / shutdown hooks. `audit_api` serves the listing.

An entry: when (UTC), the full gRPC method, an action name ("customer360.read",
"offer.update"), the caller's subject and role and the request id (all taken from
telco360_runtime.context, so the handler passes none of them), the account ids concerned
(at most `ACCOUNT_IDS_MAX` kept, `account_count` counts them all), a detail and an outcome
("OK" or the status code name). Entries hold no personal data values: callers pass account
ids, definition ids and names, counts and codes, never a name, phone, e-mail, note or other
free text taken from a request; `detail` is clipped to `DETAIL_MAX` characters.

Writes stay off the hot paths (contact decisions, Customer360 reads): `record` only appends
to a bounded in-memory buffer (no I/O, safe on the event loop and in store threads), and a
background thread writes the buffer in batches (one transaction per batch) every
`flush_seconds` or as soon as `batch_size` entries wait. `close` (a shutdown hook, run after
in-flight calls finished) writes what is left; `list` writes the buffer first, so a replica's
listing includes its own entries up to the call.

What can be lost, and why that is acceptable:
- a process killed without shutdown (SIGKILL, power loss) loses the entries of its last
  `flush_seconds` (0.5 s by default): a graceful stop (SIGTERM, rolling updates) loses
  nothing. Writing every entry in the audited operation's own transaction would put one
  more synchronous write, and on SQLite the store's single write lock, on every contact
  decision and every Customer360 read, which the suite's latency targets do not allow;
- while the store is unreachable the buffer keeps up to `capacity` entries and retries;
  past that, new entries are counted, not kept, and the next successful write adds one
  entry (action `audit.dropped`, detail "<n> entries dropped") so the gap is itself on
  the trail and logged. Audited operations need the same store, so they mostly fail
  while it is down and produce little to drop.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, select

from telco360_runtime import context
from telco360_runtime.db import Database
from telco360_runtime.errors import DomainError
from telco360_runtime.timeconv import now_utc

TABLE = "audit_entries"
#: Account ids kept per entry; `account_count` keeps the total (an export of 10^5 accounts).
ACCOUNT_IDS_MAX = 100
#: Characters kept of an entry's detail.
DETAIL_MAX = 500
OK = "OK"
DROPPED = "audit.dropped"

_log = structlog.get_logger("telco360.audit")


def audit_table(metadata: MetaData) -> Table:
    """The `audit_entries` table definition, added to a service's metadata.

    `account_ids` is a JSON list (text, written by this module) so that it reads the same on
    SQLite and PostgreSQL and `list(account_id=...)` can match one element exactly.
    """
    return Table(
        TABLE,
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("method", String(200), nullable=False),
        Column("action", String(64), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("role", String(32), nullable=False),
        Column("request_id", String(64), nullable=False),
        Column("account_ids", Text, nullable=False),
        Column("account_count", Integer, nullable=False),
        Column("detail", String(DETAIL_MAX), nullable=False),
        Column("outcome", String(32), nullable=False),
        Index("ix_audit_entries_subject", "subject", "id"),
        Index("ix_audit_entries_at", "at"),
    )


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry."""

    id: int
    at: dt.datetime
    method: str
    action: str
    subject: str
    role: str
    request_id: str
    account_ids: tuple[str, ...]
    account_count: int
    detail: str
    outcome: str


@dataclass
class AuditNote:
    """What an operation in `AuditTrail.recording` adds while it runs (accounts found, a summary)."""

    account_ids: list[str] = field(default_factory=list)
    detail: str = ""
    count: int | None = None
    """Total accounts concerned when more than `account_ids` (e.g. an export's row count)."""
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def add(self, account_ids: Iterable[str]) -> None:
        """Add accounts (distinct; the first ACCOUNT_IDS_MAX kept, all of them counted)."""
        for account_id in account_ids:
            if account_id in self._seen:
                continue
            self._seen.add(account_id)
            if len(self.account_ids) < ACCOUNT_IDS_MAX:
                self.account_ids.append(account_id)

    @property
    def total(self) -> int:
        """Accounts concerned: the distinct ids added, or `count` when that is larger."""
        return max(len(self._seen), self.count or 0)


def _caller() -> dict[str, str]:
    """Who is calling which method now (telco360_runtime.context), as entry columns."""
    return {
        "method": context.method()[:200],
        "subject": context.caller_subject()[:200],
        "role": context.caller_role()[:32],
        "request_id": context.request_id()[:64],
    }


def _outcome(error: BaseException) -> str:
    if isinstance(error, DomainError):
        return error.grpc_code
    code = getattr(error, "code", None)  # a grpc.RpcError raised through (e.g. a peer's)
    if callable(code):
        try:
            return str(getattr(code(), "name", "UNKNOWN"))
        except Exception:  # noqa: BLE001 - naming the outcome must never fail the call
            return "UNKNOWN"
    if isinstance(error, Exception):
        return "INTERNAL"
    return "CANCELLED"  # asyncio.CancelledError, GeneratorExit: the caller went away


class AuditTrail:
    """Records audit entries of one service (buffered, see module docstring) and lists them."""

    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        capacity: int = 20_000,
        batch_size: int = 500,
        flush_seconds: float = 0.5,
        clock: Callable[[], dt.datetime] = now_utc,
    ) -> None:
        self.db, self.table = db, table
        self._capacity, self._batch_size, self._flush_seconds = capacity, batch_size, flush_seconds
        self._clock = clock
        self._buffer: list[dict[str, Any]] = []
        self._dropped = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._write_lock = threading.Lock()  # one writer at a time keeps ids in recording order
        self._thread: threading.Thread | None = None
        self._closing = False

    # --- recording ---------------------------------------------------------------------

    def record(
        self,
        action: str,
        account_ids: Iterable[str] = (),
        detail: str = "",
        *,
        outcome: str = OK,
        count: int | None = None,
    ) -> None:
        """Append an entry for the current call (caller, method and request id from context).

        Never blocks on I/O and never raises for a full buffer (the loss is counted, see the
        module docstring). `count`: accounts concerned in all, when more than `account_ids`.
        """
        self._record(_caller(), action, account_ids, detail, outcome, count)

    def _record(
        self,
        caller: dict[str, str],
        action: str,
        account_ids: Iterable[str],
        detail: str,
        outcome: str,
        count: int | None,
    ) -> None:
        ids = list(dict.fromkeys(str(a) for a in account_ids))  # distinct, in order
        seen = len(ids)
        del ids[ACCOUNT_IDS_MAX:]
        self._append(
            {
                **caller,
                "at": self._clock(),
                "action": action[:64],
                "account_ids": json.dumps(ids),
                "account_count": max(seen, count or 0),
                "detail": detail[:DETAIL_MAX],
                "outcome": outcome[:32],
            }
        )

    @contextmanager
    def recording(self, action: str, account_ids: Iterable[str] = (), detail: str = "") -> Iterator[AuditNote]:
        """Record `action` once the block ends, with its outcome ("OK" or the error's code).

        The block may add accounts and set the detail or a total count on the yielded note.
        The caller is taken when the block starts (a stream's generator may be closed in
        another context).
        """
        caller = _caller()
        note = AuditNote(detail=detail)
        note.add(account_ids)
        outcome = OK
        try:
            yield note
        except BaseException as error:
            outcome = _outcome(error)
            raise
        finally:
            self._record(caller, action, note.account_ids, note.detail, outcome, note.total)

    def _append(self, row: dict[str, Any]) -> None:
        with self._lock:
            if len(self._buffer) >= self._capacity:
                self._dropped += 1
                return
            self._buffer.append(row)
            if len(self._buffer) >= self._batch_size:
                self._wake.notify()

    @property
    def pending(self) -> int:
        """Entries recorded but not written yet."""
        with self._lock:
            return len(self._buffer)

    # --- writing -----------------------------------------------------------------------

    def flush(self) -> int:
        """Write every buffered entry now (blocking; the store's thread pool or the worker)."""
        written = 0
        with self._write_lock:
            while True:
                with self._lock:
                    rows, self._buffer = self._buffer[: self._batch_size], self._buffer[self._batch_size :]
                    dropped, self._dropped = self._dropped, 0
                if dropped:
                    rows.append(self._dropped_row(dropped))
                if not rows:
                    return written
                try:
                    with self.db.write_session() as session:
                        session.execute(self.table.insert(), rows)
                except BaseException:
                    with self._lock:  # keep them for the next round (up to capacity)
                        if dropped:
                            rows.pop()
                            self._dropped += dropped
                        room = max(self._capacity - len(self._buffer), 0)
                        self._dropped += max(len(rows) - room, 0)
                        self._buffer[:0] = rows[:room]
                    raise
                written += len(rows)

    def _dropped_row(self, dropped: int) -> dict[str, Any]:
        _log.error("audit_entries_dropped", count=dropped)
        return {
            "at": self._clock(),
            "method": "",
            "action": DROPPED,
            "subject": "",
            "role": "",
            "request_id": "",
            "account_ids": "[]",
            "account_count": 0,
            "detail": f"{dropped} entries dropped (buffer full while the store could not be written)",
            "outcome": OK,
        }

    def start(self) -> None:
        """Start the background writer (a startup hook; idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self._closing = False
        self._thread = context.start_thread(self._run, name="audit-writer")

    def close(self) -> None:
        """Stop the writer and write what is left (a shutdown hook, before the store closes)."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if not self._closing and len(self._buffer) < self._batch_size:
                    self._wake.wait(self._flush_seconds * (1 + min(failures, 20)))
                if self._closing:
                    return  # close() writes the rest on its own thread
            try:
                self.flush()
                failures = 0
            except Exception as error:  # noqa: BLE001 - the store may come back; entries are kept
                failures += 1
                _log.warning("audit_write_failed", error=type(error).__name__, pending=self.pending)

    # --- reading -----------------------------------------------------------------------

    def list(
        self,
        *,
        account_id: str = "",
        subject: str = "",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries newest first, filtered (AND) by account, subject and [since, until), ids
        below `before_id` (keyset paging); writes the buffer first. Blocking (db.run it)."""
        self.flush()
        t = self.table
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(t.c.id < before_id)
        if subject:
            query = query.where(t.c.subject == subject)
        if since is not None:
            query = query.where(t.c.at >= since)
        if until is not None:
            query = query.where(t.c.at < until)
        if account_id:
            query = query.where(t.c.account_ids.like(f"%{_like_escape(json.dumps(account_id))}%", escape="\\"))
        with self.db.session() as session:
            rows = session.execute(query).mappings().all()
        return [_entry(row) for row in rows]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entry(row: Any) -> AuditEntry:
    at = row["at"]
    if at.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
        at = at.replace(tzinfo=dt.UTC)
    return AuditEntry(
        id=int(row["id"]),
        at=at,
        method=row["method"],
        action=row["action"],
        subject=row["subject"],
        role=row["role"],
        request_id=row["request_id"],
        account_ids=tuple(json.loads(row["account_ids"])),
        account_count=int(row["account_count"]),
        detail=row["detail"],
        outcome=row["outcome"],
    )
