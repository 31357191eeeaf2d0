"""Read side of the ingest store (store layer): the log, statistics and quarantine listings.

Answers the plain values of domain/entries.py.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, exists, func, or_, select

from services.ingest.domain.entries import LogItem, QuarantineFilter, QuarantineItem, Stats
from services.ingest.store.models import (
    LogHead,
    LogRow,
    QuarantineRow,
    QuarantineViolationRow,
    RecordRow,
)

_LOG = LogRow.__table__
_Q = QuarantineRow.__table__
_QV = QuarantineViolationRow.__table__


def read_log(conn: Connection, after: int, limit: int) -> list[LogItem]:
    """Up to `limit` log entries with sequence > after, in order."""
    c = _LOG.c
    rows = conn.execute(
        select(c.sequence, c.version, c.ingested_at_us, c.payload, c.erased)
        .where(c.sequence > after)
        .order_by(c.sequence)
        .limit(limit)
    )
    return [LogItem(*row) for row in rows]  # Boolean columns read back as bool on both dialects


def last_sequence(conn: Connection) -> int:
    """The highest committed sequence (0 for an empty log)."""
    return conn.execute(select(LogHead.last_sequence).where(LogHead.id == 1)).scalar_one()


def stats(conn: Connection) -> Stats:
    """Counts of records, log entries, open quarantine entries and customers."""
    records = conn.execute(select(func.count()).select_from(RecordRow)).scalar_one()
    entries = conn.execute(select(func.count()).select_from(LogRow)).scalar_one()
    open_q = conn.execute(
        select(func.count()).select_from(QuarantineRow).where(QuarantineRow.resolved.is_(False))
    ).scalar_one()
    customers = conn.execute(select(func.count(func.distinct(RecordRow.customer_id)))).scalar_one()
    return Stats(records, entries, open_q, last_sequence(conn), customers)


def _where(flt: QuarantineFilter) -> list:
    conditions: list = []
    if not flt.include_resolved:
        conditions.append(_Q.c.resolved.is_(False))
    if flt.source:
        conditions.append(_Q.c.source == flt.source)
    if flt.reason:
        conditions.append(
            exists().where(_QV.c.quarantine_id == _Q.c.id, or_(_QV.c.reason == flt.reason, _QV.c.field == flt.reason))
        )
    if flt.received_after_us is not None:
        conditions.append(_Q.c.received_at_us >= flt.received_after_us)
    if flt.received_before_us is not None:
        conditions.append(_Q.c.received_at_us < flt.received_before_us)
    return conditions


def _item(row) -> QuarantineItem:
    return QuarantineItem(
        id=row.id,
        record=row.record,
        violations=[tuple(v) for v in json.loads(row.violations)],
        received_at_us=row.received_at_us,
        resolved=bool(row.resolved),
        resolved_sequence=row.resolved_sequence,
    )


_COLUMNS = (_Q.c.id, _Q.c.record, _Q.c.violations, _Q.c.received_at_us, _Q.c.resolved, _Q.c.resolved_sequence)


def list_quarantine(
    conn: Connection,
    flt: QuarantineFilter,
    after: tuple[int, int] | None,
    limit: int,
    count_total: bool = True,
) -> tuple[list[QuarantineItem], int]:
    """A page of entries, oldest first, after the (received_at_us, id) cursor; and the total
    matching the filter (-1 without `count_total`, for the later reads of one page)."""
    conditions = _where(flt)
    total = -1
    if count_total:
        total = conn.execute(select(func.count()).select_from(_Q).where(*conditions)).scalar_one()
    page_conditions = list(conditions)
    if after is not None:
        at, qid = after
        page_conditions.append(or_(_Q.c.received_at_us > at, (_Q.c.received_at_us == at) & (_Q.c.id > qid)))
    rows = conn.execute(select(*_COLUMNS).where(*page_conditions).order_by(_Q.c.received_at_us, _Q.c.id).limit(limit))
    return [_item(r) for r in rows], total


def quarantine_ids(conn: Connection, flt: QuarantineFilter, limit: int) -> list[int]:
    """Ids of up to `limit` entries matching a filter, oldest first."""
    rows = conn.execute(select(_Q.c.id).where(*_where(flt)).order_by(_Q.c.received_at_us, _Q.c.id).limit(limit))
    return [r[0] for r in rows]


def quarantine_keys(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(source, source_record_id) of entries by id, without their records (missing: absent)."""
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 400):
        rows = conn.execute(
            select(_Q.c.id, _Q.c.source, _Q.c.source_record_id).where(_Q.c.id.in_(ids[start : start + 400]))
        )
        for qid, source, record_id in rows:
            found[qid] = (source, record_id)
    return found


def get_quarantine(conn: Connection, ids: list[int]) -> dict[int, QuarantineItem]:
    """Entries by id (missing ids are absent from the answer)."""
    found: dict[int, QuarantineItem] = {}
    for start in range(0, len(ids), 400):
        rows = conn.execute(select(*_COLUMNS).where(_Q.c.id.in_(ids[start : start + 400])))
        for row in rows:
            found[row.id] = _item(row)
    return found
