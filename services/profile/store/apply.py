"""Store layer: applying a batch of ingest log entries in one transaction, with the cursor.

The rules (which entries are skipped, which version wins) are pure functions in
domain/versions.py; this module reads what they need and writes what they decide.

Idempotent and gap-free: entries at or below the stored cursor are skipped; an entry whose
(source, source_record_id) already has the same or a newer version applied is skipped.

Versions of one (source, source_record_id) are ranked by the source's own time
(`occurred_at`, then the version number for corrections of the same moment), not by
arrival: a version that ranks above the current one supersedes it at its own ingest time;
one that ranks below (an old extract sent again) is kept in history, superseded from the
moment it arrived, so it is never visible and never wins. The same set of versions gives
the same current state whatever order they arrive in. The facts, the
recomputed accounts, their tags, the published events and the new cursor all commit
together, so a crash mid-batch leaves nothing half-applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.profile.domain import events as ev
from services.profile.domain import versions
from services.profile.domain.billing import RevenueBase
from services.profile.domain.model import LogRecord
from services.profile.domain.schema import attribute_type
from services.profile.store.bulk import insert_rows
from services.profile.store.codec import chunks, dumps, utc
from services.profile.store.erasures import erase_from_log
from services.profile.store.models import (
    AccountFact,
    AttributeType,
    BillingFact,
    BillingMonth,
    CostFact,
    Erasure,
    PendingRefresh,
    RecordKey,
)
from services.profile.store.readmodel import ViewRenderer
from services.profile.store.refresh import RefreshStats, group_roots, refresh_accounts
from services.profile.store.writer import Tx

BILLING_FIELDS = (
    "month",
    "product_line",
    "fee_fen",
    "usage_quantity",
    "usage_unit",
    "lines",
    "payment_status",
    "days_overdue",
)
COST_FIELDS = ("month", "product_line", "cost_type", "amount_fen")
"""Cost columns kept (the free-text note is not: no feature reads it and it may name people)."""


@dataclass
class ApplyResult:
    """What one batch did."""

    applied: int = 0
    skipped: int = 0
    last_sequence: int = 0
    accounts: list[str] = field(default_factory=list)
    refresh: RefreshStats = field(default_factory=RefreshStats)
    new_attributes: bool = False


def _row_common(r: LogRecord) -> dict:
    return {
        "customer_id": r.customer_id,
        "occurred_at": r.occurred_at,
        "ingested_at": r.ingested_at,
        "superseded_at": None,
        "sequence": r.sequence,
        "source": r.source,
        "source_record_id": r.source_record_id,
        "version": r.version,
    }


def apply_batch(
    s: Session,
    records: Sequence[LogRecord],
    now: dt.datetime,
    rules_for,
    base: RevenueBase | None,
    priority: dict[str, int] | None = None,
    defer: bool = False,
    render: ViewRenderer | None = None,
    erasure_services: Sequence[str] = (),
) -> ApplyResult:
    """Apply log entries (in sequence order) and advance the cursor, in the caller's transaction.

    `rules_for(session, attributes_changed)` returns (rules, types) to evaluate tags with.
    With `defer` (catch-up mode, more entries already waiting) the changed accounts are
    queued in `pending_refresh` instead of being recomputed now; `refresh_pending` does it
    once the consumer has caught up, so an account touched by a thousand entries is
    recomputed once, not a thousand times. `render` keeps the Customer360 read model.
    """
    tx = Tx(s, now, render)
    result = ApplyResult(last_sequence=tx.state.applied_sequence)
    fresh = versions.unapplied(records, tx.state.applied_sequence)
    result.skipped = len(records) - len(fresh)
    if not fresh:
        return result
    customers = {r.customer_id for r in fresh}
    erased = {
        c
        for part in chunks(sorted(customers))
        for c in s.execute(select(Erasure.customer_id).where(Erasure.customer_id.in_(part))).scalars()
    }
    log_erased = versions.newly_erased(fresh, erased)
    if log_erased:  # the log says so (a rebuild from an erasing ingest): the accounts stay erased here too
        erased.update(erase_from_log(tx, log_erased, erasure_services))
    keys: dict[tuple[str, str], tuple[int, str, str]] = {}
    by_source: dict[str, set[str]] = {}
    for r in fresh:
        by_source.setdefault(r.source, set()).add(r.source_record_id)
    for source, srids in by_source.items():
        for part in chunks(sorted(srids), 2000):
            for key_row in s.execute(
                select(RecordKey.source_record_id, RecordKey.version, RecordKey.customer_id, RecordKey.kind).where(
                    RecordKey.source == source, RecordKey.source_record_id.in_(part)
                )
            ):
                keys[(source, key_row[0])] = (key_row[1], key_row[2], key_row[3])
    known_keys = set(keys)
    current = _current_ranks(s, keys)
    touched: set[tuple[str, str]] = set()
    pending: dict[tuple[str, str], dict] = {}
    billing_rows: list[dict] = []
    cost_rows: list[dict] = []
    fact_rows: list[dict] = []
    supersede: list[tuple[tuple[str, str], str, dt.datetime]] = []
    dirty: dict[str, int] = {}
    sources: dict[str, str] = {}
    months: dict[str, dt.datetime] = {}
    bills: dict[str, set[str]] = {}
    events: list[ev.AccountEvent] = []
    attrs: dict[str, str] = {}
    for r in fresh:
        result.last_sequence = r.sequence
        if versions.erased_skipped(r.customer_id, erased, r.erased):
            result.skipped += 1
            continue
        key = (r.source, r.source_record_id)
        prev = keys.get(key)
        if not versions.is_newer_version(prev[0] if prev is not None else None, r.version):
            result.skipped += 1
            continue
        touched.add(key)
        rank = versions.rank_of(r)
        if versions.is_stale(rank, current.get(key)):
            # Older by the source's own time than the version in force: history only.
            keys[key] = (r.version, prev[1], prev[2]) if prev is not None else (r.version, r.customer_id, r.kind)
            _stale_row(r, billing_rows, cost_rows, fact_rows)
            result.applied += 1
            continue
        current[key] = rank
        if prev is not None:
            if key in pending:
                pending[key]["superseded_at"] = r.ingested_at
            else:
                supersede.append((key, prev[2], r.ingested_at))
            if prev[1] != r.customer_id:
                dirty.setdefault(prev[1], r.sequence)
        keys[key] = (r.version, r.customer_id, r.kind)
        row: dict = _row_common(r)
        if r.kind == "billing":
            row.update(_billing_values(r.payload))
            billing_rows.append(row)
            visible_at = max(r.occurred_at, r.ingested_at)
            month = row["month"]
            if month not in months or visible_at < months[month]:
                months[month] = visible_at
            bills.setdefault(r.customer_id, set()).add(month)
        elif r.kind == "cost":
            row.update(_cost_values(r.payload))
            cost_rows.append(row)
        else:
            row.update({"kind": r.kind, "payload": dumps(r.payload)})
            fact_rows.append(row)
            if r.kind in ev.RECORD_EVENTS:
                events.append(
                    ev.AccountEvent(
                        r.customer_id,
                        ev.RECORD_EVENTS[r.kind],
                        r.occurred_at,
                        details=ev.record_details(r.kind, r.payload),
                        source_sequence=r.sequence,
                    )
                )
            if r.kind == "account":
                for name, value in (r.payload.get("attributes") or {}).items():
                    attrs[name] = attribute_type(value)
        pending[key] = row
        dirty[r.customer_id] = r.sequence
        sources[r.customer_id] = r.source
        result.applied += 1
    for key, kind, at in supersede:
        model = _model(kind)
        s.execute(
            update(model)
            .where(model.source == key[0], model.source_record_id == key[1], model.superseded_at.is_(None))
            .values(superseded_at=at)
        )
    if billing_rows:
        insert_rows(s, BillingFact.__table__, billing_rows)
    if cost_rows:
        insert_rows(s, CostFact.__table__, cost_rows)
    if fact_rows:
        insert_rows(s, AccountFact.__table__, fact_rows)
    _write_keys(s, keys, known_keys, touched)
    _write_months(s, months)
    result.new_attributes = _write_attributes(s, attrs)
    # While accounts wait for their catch-up recompute, new changes join them: recomputing
    # some accounts now would rank them against a base the others have not reached yet.
    if defer or has_pending(s):
        queue_refresh(s, dirty, sources)
    else:
        rules, types = rules_for(s, result.new_attributes)
        result.refresh = refresh_accounts(
            tx,
            list(dirty),
            rules,
            types,
            base,
            ev.CAUSE_ACCOUNT_CHANGE,
            source_sequences=dirty,
            sources=sources,
            priority=priority,
            bill_months={c: bills.get(c, set()) for c in dirty},
        )
    tx.publish(events, group_roots(s, {e.customer_id for e in events}) if events else {})
    tx.flush()
    tx.state.applied_sequence = result.last_sequence
    tx.state.ingest_last_sequence = max(tx.state.ingest_last_sequence or 0, result.last_sequence)
    tx.state.last_applied_at = now
    result.accounts = sorted(dirty)
    return result


def has_pending(s: Session) -> bool:
    """Whether accounts still wait for their catch-up recompute."""
    return s.execute(select(PendingRefresh.customer_id).limit(1)).first() is not None


def queue_refresh(s: Session, dirty: dict[str, int], sources: dict[str, str]) -> None:
    """Remember accounts to refresh later (catch-up mode)."""
    if not dirty:
        return
    known: set[str] = set()
    for part in chunks(sorted(dirty)):
        known.update(
            s.execute(select(PendingRefresh.customer_id).where(PendingRefresh.customer_id.in_(part))).scalars()
        )
    rows = [{"customer_id": c, "sequence": q, "source": sources.get(c, "")} for c, q in dirty.items()]
    new = [r for r in rows if r["customer_id"] not in known]
    old = [r for r in rows if r["customer_id"] in known]
    if new:
        insert_rows(s, PendingRefresh.__table__, new)
    if old:
        s.execute(update(PendingRefresh), old)


def refresh_pending(
    s: Session,
    now: dt.datetime,
    rules_for,
    base: RevenueBase | None,
    priority: dict[str, int] | None = None,
    limit: int = 1000,
    render: ViewRenderer | None = None,
) -> int:
    """Refresh up to `limit` queued accounts; returns how many.

    The chunk's recompute, its events and the removal from the queue commit together, so a
    crash anywhere leaves each account either done (once) or still queued. Accounts keep
    the revenue share they had (none when new): the base is still filling while the queue
    drains, and ranking against it would tag value tiers that the re-ranking after the
    catch-up (`ProfileUseCases.refresh_revenue_shares`) undoes. Every current bill not yet
    announced with its present total is published once, as one BILL_ISSUED per month,
    however the entries were cut into batches.
    """
    tx = Tx(s, now, render)
    rows = s.execute(select(PendingRefresh).order_by(PendingRefresh.customer_id).limit(limit)).scalars().all()
    if not rows:
        return 0
    rules, types = rules_for(s, True)
    refresh_accounts(
        tx,
        [r.customer_id for r in rows],
        rules,
        types,
        base,
        ev.CAUSE_ACCOUNT_CHANGE,
        source_sequences={r.customer_id: r.sequence for r in rows},
        sources={r.customer_id: r.source for r in rows},
        priority=priority,
        bill_months={r.customer_id: None for r in rows},
        keep_shares=True,
    )
    s.execute(delete(PendingRefresh).where(PendingRefresh.customer_id.in_([r.customer_id for r in rows])))
    tx.flush()
    return len(rows)


def _current_ranks(
    s: Session, keys: dict[tuple[str, str], tuple[int, str, str]]
) -> dict[tuple[str, str], tuple[dt.datetime, int]]:
    """(occurred_at, version) of the version in force of each known key (keys without one are absent)."""
    wanted: dict[tuple[str, type[AccountFact] | type[BillingFact] | type[CostFact]], list[str]] = {}
    for (source, srid), (_, _, kind) in keys.items():
        wanted.setdefault((source, _model(kind)), []).append(srid)
    out: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
    for (source, model), srids in wanted.items():
        for part in chunks(sorted(srids), 2000):
            for srid, occurred, version in s.execute(
                select(model.source_record_id, model.occurred_at, model.version).where(
                    model.source == source, model.source_record_id.in_(part), model.superseded_at.is_(None)
                )
            ):
                out[(source, srid)] = versions.later_rank(out.get((source, srid)), (utc(occurred), version))
    return out


def _model(kind: str) -> type[AccountFact] | type[BillingFact] | type[CostFact]:
    """The table that holds the versions of a record kind."""
    if kind == "billing":
        return BillingFact
    if kind == "cost":
        return CostFact
    return AccountFact


def _stale_row(r: LogRecord, billing_rows: list[dict], cost_rows: list[dict], fact_rows: list[dict]) -> None:
    """Keep a version that lost to the one in force: superseded from the moment it arrived."""
    row = {**_row_common(r), "superseded_at": r.ingested_at}
    if r.kind == "billing":
        row.update(_billing_values(r.payload))
        billing_rows.append(row)
    elif r.kind == "cost":
        row.update(_cost_values(r.payload))
        cost_rows.append(row)
    else:
        row.update({"kind": r.kind, "payload": dumps(r.payload)})
        fact_rows.append(row)


def _billing_values(payload: dict) -> dict:
    """The billing columns of a payload, with defaults for unset fields."""
    row = {f: payload.get(f) for f in BILLING_FIELDS}
    row["usage_quantity"] = float(row["usage_quantity"] or 0.0)
    row["usage_unit"] = str(row["usage_unit"] or "")
    for f in ("fee_fen", "lines", "payment_status", "days_overdue", "product_line"):
        row[f] = int(row[f] or 0)
    return row


def _cost_values(payload: dict) -> dict:
    """The cost columns of a payload, with defaults for unset fields."""
    row = {f: payload.get(f) for f in COST_FIELDS}
    for f in ("product_line", "cost_type", "amount_fen"):
        row[f] = int(row[f] or 0)
    return row


def _write_keys(s: Session, keys: dict, known: set, touched: set) -> None:
    new_rows: list[dict] = []
    changed: list[dict] = []
    for key in touched:
        version, cid, kind = keys[key]
        values = {"source": key[0], "source_record_id": key[1], "version": version, "customer_id": cid, "kind": kind}
        (changed if key in known else new_rows).append(values)
    if new_rows:
        insert_rows(s, RecordKey.__table__, new_rows)
    if changed:
        s.execute(update(RecordKey), changed)


def _write_months(s: Session, months: dict[str, dt.datetime]) -> None:
    if not months:
        return
    existing = {
        m: utc(at)
        for m, at in s.execute(
            select(BillingMonth.month, BillingMonth.first_visible_at).where(BillingMonth.month.in_(list(months)))
        )
    }
    for month, at in months.items():
        if month not in existing:
            s.add(BillingMonth(month=month, first_visible_at=at))
        elif at < existing[month]:
            s.execute(update(BillingMonth).where(BillingMonth.month == month).values(first_visible_at=at))
    s.flush()


def _write_attributes(s: Session, attrs: dict[str, str]) -> bool:
    if not attrs:
        return False
    known: dict[str, str] = dict(
        s.execute(select(AttributeType.name, AttributeType.type).where(AttributeType.name.in_(list(attrs))))
        .tuples()
        .all()
    )
    added = False
    for name, kind in attrs.items():
        if name not in known:
            s.add(AttributeType(name=name, type=kind))
            added = True
    s.flush()
    return added
