"""Store: erasure requests, their per-service progress, profile's tombstone and its lifting.

`request_erasure` erases profile's own store (store/actions.erase_customer) and records the
erasure with one progress row per service in the same transaction; the dispatcher
(usecases/erasure.py) reads `due_tasks`, calls the services and writes back with
`mark_done` / `mark_failed`. A reactivation lifts profile's tombstone at once and turns the
other services' rows to LIFT_PENDING.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.profile.domain import erasure as er
from services.profile.domain.model import STATUS_TERMINATED
from services.profile.store.actions import erase_customer
from services.profile.store.codec import dumps, loads, utc
from services.profile.store.models import Account, Erasure, ErasureProgress, ErasureRequest, PendingRefresh
from services.profile.store.writer import Tx


def _view(s: Session, req: ErasureRequest) -> er.ErasureView:
    rows = s.execute(select(ErasureProgress).where(ErasureProgress.erasure_id == req.erasure_id)).scalars().all()
    services = sorted(
        (
            er.ServiceProgress(
                r.service,
                r.state,
                {k: int(v) for k, v in loads(r.removed).items()},
                r.attempts,
                r.last_error,
                utc(r.last_attempt_at),
                utc(r.done_at),
                utc(r.lifted_at),
            )
            for r in rows
        ),
        key=lambda p: er.service_order(p.service),
    )
    mine = next((p for p in services if p.service == er.PROFILE), None)
    return er.ErasureView(
        req.erasure_id,
        req.customer_id,
        req.trigger,
        req.purge_facts,
        utc(req.requested_at),
        utc(req.reactivated_at),
        services,
        erased_at=mine.done_at if mine else None,
        removed=dict(mine.removed) if mine else {},
    )


def _latest(s: Session, customer_id: str) -> ErasureRequest | None:
    return s.execute(
        select(ErasureRequest)
        .where(ErasureRequest.customer_id == customer_id, ErasureRequest.superseded.is_(False))
        .order_by(ErasureRequest.erasure_id.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_erasure(s: Session, customer_id: str) -> er.ErasureView | None:
    """The account's latest erasure (None: never erased)."""
    req = _latest(s, customer_id)
    return _view(s, req) if req is not None else None


def _tombstone(tx: Tx, customer_id: str, reason: str, purge: bool) -> dict[str, int] | None:
    """Erase profile's own data of the account; None when profile never knew it (and it is not erased)."""
    s = tx.s
    if s.get(Erasure, customer_id) is not None:
        return None
    if s.get(Account, customer_id) is None:
        return None
    return erase_customer(tx, customer_id, reason, purge)


def _record(tx: Tx, customer_id: str, trigger: str, purge: bool, removed: dict, peers: Sequence[str]) -> ErasureRequest:
    s, now = tx.s, tx.now
    s.execute(
        update(ErasureRequest)
        .where(ErasureRequest.customer_id == customer_id, ErasureRequest.superseded.is_(False))
        .values(superseded=True)
    )
    req = ErasureRequest(
        erasure_id=er.new_erasure_id(now),
        customer_id=customer_id,
        trigger=trigger,
        purge_facts=purge,
        requested_at=now,
        superseded=False,
        reactivated_at=None,
        lift_reason="",
    )
    s.add(req)
    s.add(
        ErasureProgress(
            erasure_id=req.erasure_id,
            service=er.PROFILE,
            state=er.DONE,
            removed=dumps(removed),
            attempts=1,
            last_error="",
            last_attempt_at=now,
            done_at=now,
        )
    )
    for service in peers:
        s.add(ErasureProgress(erasure_id=req.erasure_id, service=service, state=er.PENDING, removed="{}", attempts=0))
    s.flush()
    return req


def request_erasure(
    tx: Tx, customer_id: str, reason: str, purge: bool, trigger: str, peers: Sequence[str]
) -> tuple[er.ErasureView, bool] | None:
    """Erase profile's data of the account and record the erasure for `peers`; (status, created).

    An account already erased (and not reactivated since) answers its existing erasure
    (created = False); None when profile never knew the account.
    """
    s = tx.s
    existing = _latest(s, customer_id)
    if existing is not None and existing.reactivated_at is None:
        return _view(s, existing), False
    tomb = s.get(Erasure, customer_id)
    if tomb is not None:  # profile's tombstone without a request (should not happen: 0008 migrated them)
        req = _record(tx, customer_id, trigger, tomb.purge_facts, loads(tomb.removed), peers)
        return _view(s, req), True
    removed = _tombstone(tx, customer_id, reason, purge)
    if removed is None:
        return None
    req = _record(tx, customer_id, trigger, purge, removed, peers)
    return _view(s, req), True


def erase_from_log(tx: Tx, customer_ids: Sequence[str], peers: Sequence[str] = ()) -> list[str]:
    """Tombstone accounts the ingest log marks erased (a rebuild keeps them erased); returns those erased now.

    An account profile has not seen yet gets an erased stub row, so entries applied before
    the tombstone (or a queued refresh) never make it a live account again. The other
    services' parts are recorded PENDING in the same transaction (so the erasure never reads
    complete before they answered; they answer idempotently); `ensure_peer_rows` adds those of
    services configured later.
    An account an admin reactivated here is not erased again by entries ingest still marks.
    """
    s, done = tx.s, []
    for cid in customer_ids:
        if s.get(Erasure, cid) is not None:
            continue
        latest = _latest(s, cid)
        if latest is not None and latest.reactivated_at is not None:
            continue  # reactivated here while ingest has not lifted its tombstone yet: the entry is only skipped
        if s.get(Account, cid) is None:
            s.add(Account(customer_id=cid, name="", master="{}", features="{}", updated_at=tx.now, erased=False))
            s.flush()
        removed = erase_customer(tx, cid, er.LOG_REASON, False) or {}
        s.execute(delete(PendingRefresh).where(PendingRefresh.customer_id == cid))
        _record(tx, cid, er.TRIGGER_LOG, False, removed, peers)
        done.append(cid)
    return done


def ensure_peer_rows(s: Session, peers: Sequence[str]) -> int:
    """Add a PENDING row for every configured service an open erasure lacks (log-made or migrated ones)."""
    added = 0
    reqs = s.execute(
        select(ErasureRequest.erasure_id).where(
            ErasureRequest.superseded.is_(False), ErasureRequest.reactivated_at.is_(None)
        )
    ).scalars()
    for eid in list(reqs):
        have = set(s.execute(select(ErasureProgress.service).where(ErasureProgress.erasure_id == eid)).scalars())
        for service in peers:
            if service not in have:
                s.add(ErasureProgress(erasure_id=eid, service=service, state=er.PENDING, removed="{}", attempts=0))
                added += 1
    return added


def due_tasks(s: Session, services: Sequence[str], limit: int = 200) -> list[er.PeerTask]:
    """Calls owed to the given services: PENDING (apply) and LIFT_PENDING (lift) parts of current erasures."""
    if not services:
        return []
    q = (
        select(ErasureProgress, ErasureRequest)
        .join(ErasureRequest, ErasureRequest.erasure_id == ErasureProgress.erasure_id)
        .where(
            ErasureProgress.state.in_((er.PENDING, er.LIFT_PENDING)),
            ErasureProgress.service.in_(list(services)),
            ErasureRequest.superseded.is_(False),
        )
        .order_by(ErasureProgress.erasure_id, ErasureProgress.service)
        .limit(limit)
    )
    return [
        er.PeerTask(
            req.erasure_id, req.customer_id, row.service, row.state == er.LIFT_PENDING, req.purge_facts, req.lift_reason
        )
        for row, req in s.execute(q).all()
    ]


def _row(s: Session, task: er.PeerTask) -> ErasureProgress | None:
    row = s.get(ErasureProgress, (task.erasure_id, task.service))
    want = er.LIFT_PENDING if task.lift else er.PENDING
    return row if row is not None and row.state == want else None


def mark_done(s: Session, task: er.PeerTask, now: dt.datetime, removed: dict[str, int], at: dt.datetime | None) -> None:
    """Record a service's OK (apply: its removed counts and time; lift: lifted now)."""
    row = _row(s, task)
    if row is None:  # superseded or changed meanwhile (a reactivation, a new erasure)
        return
    row.attempts += 1
    row.last_attempt_at = now
    row.last_error = ""
    if task.lift:
        row.state, row.lifted_at = er.LIFTED, now
    else:
        row.state, row.done_at, row.removed = er.DONE, at or now, dumps(removed)


def mark_failed(s: Session, task: er.PeerTask, now: dt.datetime, error: str) -> None:
    """Record a failed call (the part stays pending and is retried next round)."""
    row = _row(s, task)
    if row is None:
        return
    row.attempts += 1
    row.last_attempt_at = now
    row.last_error = error[: er.ERROR_MAX]


def reactivate(tx: Tx, customer_id: str, reason: str) -> er.ErasureView | None:
    """Lift profile's tombstone and ask every other service to lift theirs; None when never erased.

    A repeat answers the status; the account's kept facts (if any) make it a live account
    again at once, and new records about it are applied from now on.
    """
    s, now = tx.s, tx.now
    req = _latest(s, customer_id)
    if req is None:
        return None
    if req.reactivated_at is not None:
        return _view(s, req)
    req.reactivated_at, req.lift_reason = now, reason
    for row in s.execute(select(ErasureProgress).where(ErasureProgress.erasure_id == req.erasure_id)).scalars():
        row.attempts, row.last_error = 0, ""
        if row.service == er.PROFILE:
            row.state, row.lifted_at, row.attempts, row.last_attempt_at = er.LIFTED, now, 1, now
        else:
            row.state = er.LIFT_PENDING
    s.execute(delete(Erasure).where(Erasure.customer_id == customer_id))
    s.execute(update(Account).where(Account.customer_id == customer_id).values(erased=False, updated_at=now))
    s.flush()
    return _view(s, req)


def list_erasures(s: Session, after: str, size: int, incomplete_only: bool) -> list[er.ErasureView]:
    """Current erasures in erasure_id order after `after` (keyset); with incomplete_only, those not complete."""
    out: list[er.ErasureView] = []
    cursor = after
    while len(out) < size:
        reqs = (
            s.execute(
                select(ErasureRequest)
                .where(ErasureRequest.erasure_id > cursor, ErasureRequest.superseded.is_(False))
                .order_by(ErasureRequest.erasure_id)
                .limit(size + 1)
            )
            .scalars()
            .all()
        )
        if not reqs:
            break
        for req in reqs:
            view = _view(s, req)
            cursor = req.erasure_id
            if not incomplete_only or not view.complete:
                out.append(view)
                if len(out) > size:
                    break
        if len(out) > size or len(reqs) <= size:
            break
    return out


def retention_due(s: Session, cutoff: dt.datetime, limit: int = 500) -> list[str]:
    """Accounts terminated before `cutoff`, not erased: due for erasure by retention."""
    rows = s.execute(
        select(Account.customer_id, Account.master).where(
            Account.status == STATUS_TERMINATED, Account.erased.is_(False)
        )
    ).all()
    due = [cid for cid, master in rows if er.terminated_before(loads(master).get("terminated_at"), cutoff)]
    return sorted(due)[:limit]
