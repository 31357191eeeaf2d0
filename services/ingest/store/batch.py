"""Applying one batch of prepared records in one transaction (the ingest hot path).

Core statements with executemany, no ORM objects per row: a batch of 500 records costs a
handful of round trips. The transaction starts by updating the single-row sequence
counter, which serialises writers across threads, processes and replicas; classification
(new / duplicate / correction) is therefore made against a state no one else can change
until we commit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from services.ingest.domain.erasure import REFUSED, refusal_key
from services.ingest.domain.ingest import (
    ACCEPTED,
    CORRECTED,
    DUPLICATE,
    REJECTED,
    Outcome,
    Prepared,
    decide,
)
from services.ingest.store.models import (
    LogHead,
    LogRow,
    QuarantineRow,
    QuarantineViolationRow,
    RecordRow,
)

_HEAD = cast(Table, LogHead.__table__)
_RECORDS = cast(Table, RecordRow.__table__)
_LOG = cast(Table, LogRow.__table__)
_QUARANTINE = cast(Table, QuarantineRow.__table__)
_QVIOLATIONS = cast(Table, QuarantineViolationRow.__table__)

# A no-op write that takes the writer lock and reads the counter in one round trip.
LOCK_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(last_sequence=_HEAD.c.last_sequence).returning(_HEAD.c.last_sequence)
)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(last_sequence=bindparam("new_last"))
_LOG_COLUMNS = (
    "sequence",
    "source",
    "source_record_id",
    "version",
    "customer_id",
    "kind",
    "occurred_at_us",
    "ingested_at_us",
    "payload",
)
_RECORD_COLUMNS = (
    "source",
    "source_record_id",
    "customer_id",
    "kind",
    "version",
    "sequence",
    "payload_hash",
    "updated_at_us",
)
_UPDATE_RECORD = (
    update(_RECORDS)
    .where(_RECORDS.c.source == bindparam("k_source"), _RECORDS.c.source_record_id == bindparam("k_id"))
    .values(
        customer_id=bindparam("b_customer_id"),
        kind=bindparam("b_kind"),
        version=bindparam("b_version"),
        sequence=bindparam("b_sequence"),
        payload_hash=bindparam("b_payload_hash"),
        updated_at_us=bindparam("b_updated_at_us"),
    )
)
_RESOLVE_Q = (
    update(_QUARANTINE)
    .where(_QUARANTINE.c.id == bindparam("q_id"))
    .values(resolved=True, resolved_sequence=bindparam("q_seq"))
)
_INSERT_Q = insert(_QUARANTINE).returning(_QUARANTINE.c.id, sort_by_parameter_order=True)
_ANY_Q = select(_QUARANTINE.c.id).limit(1)
_CHUNK = 400  # bind parameters per IN list stay far below every driver's limit


@dataclass(slots=True)
class _Latest:
    version: int
    sequence: int
    digest: str
    in_db: bool


def param_marker(conn: Connection) -> str:
    """The driver's own parameter marker (for raw driver SQL)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _insert_sql(conn: Connection, table: str, columns: Sequence[str]) -> str:
    """INSERT text in the driver's own parameter style (for a raw executemany)."""
    marker = param_marker(conn)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"


def driver_cursor(conn: Connection) -> Any:
    """A DB-API cursor on the driver connection under the transaction's connection."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    return driver.cursor()


def _executemany(conn: Connection, sql: str, rows: list[tuple]) -> None:
    """executemany straight on the DB-API cursor of the transaction's connection.

    The two hot inserts skip SQLAlchemy's per-row parameter processing, which costs more
    than the database itself for batches of small rows; the statements are plain INSERTs of
    ints and strings, so there is nothing for SQLAlchemy to convert.
    """
    cursor = driver_cursor(conn)
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _chunks(values: list[str], size: int = _CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _by_source(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for source, record_id in keys:
        grouped[source].add(record_id)
    return {source: sorted(ids) for source, ids in grouped.items()}


def _load_latest(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Latest]:
    """Latest stored version of each key (one indexed query per source and chunk).

    Raw driver SQL for the same reason as `_executemany`: an expanding IN of hundreds of
    values is costly to build through SQLAlchemy on every batch.
    """
    found: dict[tuple[str, str], _Latest] = {}
    marker = param_marker(conn)
    cursor = driver_cursor(conn)
    try:
        for source, ids in _by_source(keys).items():
            for chunk in _chunks(ids):
                cursor.execute(
                    "SELECT source_record_id, version, sequence, payload_hash FROM ingest_records"
                    f" WHERE source = {marker} AND source_record_id IN"
                    f" ({', '.join([marker] * len(chunk))})",
                    [source, *chunk],
                )
                for record_id, version, sequence, digest in cursor.fetchall():
                    found[(source, record_id)] = _Latest(version, sequence, digest, True)
    finally:
        cursor.close()
    return found


def _erased_among(conn: Connection, customer_ids: Iterable[str]) -> set[str]:
    """The ids among `customer_ids` that have a tombstone (one query per 400 ids).

    Raw driver SQL, as `_load_latest`: this runs on every ingested batch.
    """
    ids = sorted({c for c in customer_ids if c})
    found: set[str] = set()
    if not ids:
        return found
    marker = param_marker(conn)
    cursor = driver_cursor(conn)
    try:
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            cursor.execute(
                f"SELECT customer_id FROM erased_accounts WHERE customer_id IN ({', '.join([marker] * len(chunk))})",
                chunk,
            )
            found.update(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return found


def _has_key(key: tuple[str, str]) -> bool:
    return bool(key[0] and key[1])


@dataclass(slots=True)
class _Known:
    """Quarantine entries that concern a batch."""

    open_by_key: dict[tuple[str, str], int]
    """Unresolved entry per complete key."""
    seen: dict[tuple[str, str, str], int]
    """Any entry (resolved or not) per (source, source_record_id, raw hash); keyless
    records are found by ("", "", raw hash)."""


def _load_quarantine(conn: Connection, keys: set[tuple[str, str]], raw_digests: set[str]) -> _Known:
    """The quarantine entries a batch may reuse, update or settle."""
    known = _Known({}, {})
    if conn.execute(_ANY_Q).first() is None:
        return known  # the common case: an empty quarantine costs one cheap query
    c = _QUARANTINE.c
    for source, ids in _by_source(k for k in keys if _has_key(k)).items():
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(c.id, c.source_record_id, c.raw_hash, c.resolved)
                .where(c.source == source, c.source_record_id.in_(chunk))
                .order_by(c.id)
            )
            for qid, record_id, raw_hash, resolved in rows:
                known.seen[(source, record_id, raw_hash)] = qid
                if not resolved:
                    known.open_by_key[(source, record_id)] = qid
    for chunk in _chunks(sorted(raw_digests)):
        rows = conn.execute(
            select(c.id, c.raw_hash, c.source, c.source_record_id).where(c.raw_hash.in_(chunk)).order_by(c.id)
        )
        for qid, raw_hash, source, record_id in rows:
            if not _has_key((source, record_id)):
                known.seen[("", "", raw_hash)] = qid
    return known


def _violations_json(item: Prepared) -> str:
    return json.dumps([list(v) for v in item.violations], ensure_ascii=False)


class _QuarantineWriter:
    """Collects the quarantine changes of a batch and writes them with executemany."""

    def __init__(self, known: _Known, now_us: int) -> None:
        self.known, self.now_us = known, now_us
        self.resolve: dict[int, int] = {}
        self.updates: dict[int, dict] = {}
        self.new: dict[tuple, dict] = {}  # identity -> row; outcomes point at identities
        self.new_outcomes: dict[tuple, list[Outcome]] = defaultdict(list)
        self.pending: dict[tuple[str, str], tuple] = {}  # key -> identity of its new entry

    def reject(self, item: Prepared, outcome: Outcome) -> None:
        """Keep a rejected record: reuse, update or create its quarantine entry."""
        key = (item.source, item.source_record_id)
        raw_digest = item.raw_digest or ""
        row = {
            "b_record": item.raw_json,
            "b_raw_hash": raw_digest,
            "b_violations": _violations_json(item),
            "b_received_at_us": self.now_us,
            "b_customer_id": item.customer_id,
            "v": item.violations,
        }
        existing = item.quarantine_id
        if existing is not None:
            self.resolve.pop(existing, None)
            del row["b_received_at_us"]  # a replay keeps the original receipt time
        else:
            identity = (*key, raw_digest) if _has_key(key) else ("", "", raw_digest)
            seen = self.known.seen.get(identity)
            if seen is not None:
                # The same bad record again (a re-run import): nothing changes.
                outcome.quarantine_id = seen
                return
            if identity in self.new:
                self.new_outcomes[identity].append(outcome)
                return
            existing = self.known.open_by_key.get(key) if _has_key(key) else None
            row.update(b_source=item.source, b_source_record_id=item.source_record_id)
            if existing == -1:
                # A second, different bad version within the batch replaces the first.
                identity = self.pending[key]
                self.new[identity] = row
                self.new_outcomes[identity].append(outcome)
                return
            if existing is None:
                self.new[identity] = row
                self.new_outcomes[identity].append(outcome)
                if _has_key(key):
                    self.known.open_by_key[key] = -1  # pending: accept() settles it in `new`
                    self.pending[key] = identity
                return
        self.updates[existing] = row
        outcome.quarantine_id = existing

    def accept(self, item: Prepared, sequence: int) -> None:
        """A good record settles its key's open quarantine entry (or the replayed one)."""
        key = (item.source, item.source_record_id)
        if item.quarantine_id is not None:
            self.updates.pop(item.quarantine_id, None)
            self.resolve[item.quarantine_id] = sequence
            return
        open_id = self.known.open_by_key.pop(key, None)
        if open_id == -1:
            row = self.new[self.pending.pop(key)]
            row["b_resolved"], row["b_resolved_sequence"] = True, sequence
        elif open_id is not None:
            self.updates.pop(open_id, None)
            self.resolve[open_id] = sequence

    def flush(self, conn: Connection) -> None:
        """Write the collected changes (the caller's transaction commits them)."""
        if self.resolve:
            conn.execute(_RESOLVE_Q, [{"q_id": q, "q_seq": s} for q, s in self.resolve.items()])
        violation_rows: list[dict] = []
        if self.updates:
            conn.execute(delete(_QVIOLATIONS).where(_QVIOLATIONS.c.quarantine_id.in_(list(self.updates))))
            for qid, row in self.updates.items():
                values = {k[2:]: v for k, v in row.items() if k != "v"}
                conn.execute(
                    update(_QUARANTINE)
                    .where(_QUARANTINE.c.id == qid)
                    .values(resolved=False, resolved_sequence=0, **values)
                )
                violation_rows.extend(_violation_rows(qid, row["v"]))
        if self.new:
            identities = list(self.new)
            rows = []
            for identity in identities:
                row = self.new[identity]
                rows.append(
                    {
                        "source": row["b_source"],
                        "source_record_id": row["b_source_record_id"],
                        "customer_id": row["b_customer_id"],
                        "raw_hash": row["b_raw_hash"],
                        "record": row["b_record"],
                        "violations": row["b_violations"],
                        "received_at_us": row["b_received_at_us"],
                        "resolved": row.get("b_resolved", False),
                        "resolved_sequence": row.get("b_resolved_sequence", 0),
                    }
                )
            ids = [r[0] for r in conn.execute(_INSERT_Q, rows)]
            for identity, qid in zip(identities, ids, strict=False):
                for outcome in self.new_outcomes[identity]:
                    outcome.quarantine_id = qid
                violation_rows.extend(_violation_rows(qid, self.new[identity]["v"]))
        if violation_rows:
            conn.execute(insert(_QVIOLATIONS), violation_rows)


def _violation_rows(qid: int, violations: Sequence) -> list[dict]:
    return [
        {"quarantine_id": qid, "position": i, "field": v.field[:256], "reason": v.reason[:64]}
        for i, v in enumerate(violations)
    ]


def apply_batch(conn: Connection, items: Sequence[Prepared], now_us: int) -> tuple[list[Outcome], int]:
    """Apply prepared records in order; returns their outcomes and the new last sequence.

    The caller owns the transaction; nothing here commits. Records of an erased account
    (a tombstone in `erased_accounts`, read after the writer lock so an erasure committing
    meanwhile is seen) are REFUSED and touch nothing: no log entry, no record, no
    quarantine entry (domain/erasure.py says why).
    """
    last = conn.execute(LOCK_HEAD).scalar_one()
    erased = _erased_among(conn, (refusal_key(i.customer_id) for i in items))
    if erased:
        refused = [refusal_key(i.customer_id) in erased for i in items]
        kept = [item for item, no in zip(items, refused, strict=True) if not no]
        outcomes, sequence = _apply(conn, kept, now_us, last) if kept else ([], last)
        answers = iter(outcomes)
        return [Outcome(REFUSED) if no else next(answers) for no in refused], sequence
    return _apply(conn, items, now_us, last)


def _apply(conn: Connection, items: Sequence[Prepared], now_us: int, last: int) -> tuple[list[Outcome], int]:
    """apply_batch for records none of which is refused (the writer lock is held)."""
    good_keys = {(i.source, i.source_record_id) for i in items if i.digest is not None}
    all_keys = {(i.source, i.source_record_id) for i in items}
    raw_digests = {i.raw_digest for i in items if i.raw_digest and not _has_key((i.source, i.source_record_id))}
    latest = _load_latest(conn, good_keys) if good_keys else {}
    quarantine = _QuarantineWriter(_load_quarantine(conn, all_keys, raw_digests), now_us)

    sequence = last
    log_rows: list[tuple] = []
    new_records: dict[tuple[str, str], tuple] = {}
    changed_records: dict[tuple[str, str], dict] = {}
    outcomes: list[Outcome] = []
    for item in items:
        if item.digest is None:
            outcome = Outcome(REJECTED)
            quarantine.reject(item, outcome)
            outcomes.append(outcome)
            continue
        key = (item.source, item.source_record_id)
        state = latest.get(key)
        status = decide(state.digest if state else None, item.digest)
        if status == DUPLICATE:
            assert state is not None
            outcomes.append(Outcome(DUPLICATE, state.sequence, state.version))
            if item.quarantine_id is not None:
                quarantine.accept(item, state.sequence)
            continue
        sequence += 1
        version = 1 if state is None else state.version + 1
        log_rows.append(
            (
                sequence,
                item.source,
                item.source_record_id,
                version,
                item.customer_id,
                item.kind,
                item.occurred_at_us,
                now_us,
                item.canonical,
            )
        )
        if state is not None and state.in_db:
            changed_records[key] = {
                "b_customer_id": item.customer_id,
                "b_kind": item.kind,
                "b_version": version,
                "b_sequence": sequence,
                "b_payload_hash": item.digest,
                "b_updated_at_us": now_us,
            }
        else:
            new_records[key] = (
                item.source,
                item.source_record_id,
                item.customer_id,
                item.kind,
                version,
                sequence,
                item.digest,
                now_us,
            )
        latest[key] = _Latest(version, sequence, item.digest, state.in_db if state else False)
        quarantine.accept(item, sequence)
        outcomes.append(Outcome(ACCEPTED if status == ACCEPTED else CORRECTED, sequence, version))

    if log_rows:
        _executemany(conn, _insert_sql(conn, "ingest_log", _LOG_COLUMNS), log_rows)
    if new_records:
        _executemany(conn, _insert_sql(conn, "ingest_records", _RECORD_COLUMNS), list(new_records.values()))
    if changed_records:
        conn.execute(_UPDATE_RECORD, [{"k_source": k[0], "k_id": k[1], **row} for k, row in changed_records.items()])
    quarantine.flush(conn)
    if sequence != last:
        conn.execute(_SET_HEAD, {"new_last": sequence})
    return outcomes, sequence
