"""Writes other than the log: recording scores, erasure, and time-window expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.profile.domain import events as ev
from services.profile.domain.model import Score
from services.profile.store.bulk import insert_rows
from services.profile.store.codec import dumps, utc
from services.profile.store.loader import latest_scores
from services.profile.store.models import (
    Account,
    AccountFact,
    AccountHistory,
    AccountTag,
    BillingFact,
    CostFact,
    Erasure,
    ScoreRow,
    TagHistory,
)
from services.profile.store.readmodel import drop_view
from services.profile.store.refresh import group_roots, refresh_scores
from services.profile.store.writer import Tx


def record_scores(tx: Tx, scores: Sequence[Score], rules, types, base) -> dict:
    """Store newer scores, re-evaluate tags of those accounts, publish risk-band changes."""
    s = tx.s
    ids = sorted({sc.customer_id for sc in scores})
    known = set(
        s.execute(select(Account.customer_id).where(Account.customer_id.in_(ids), Account.erased.is_(False))).scalars()
    )
    far = tx.now + dt.timedelta(days=36500)
    current = latest_scores(s, ids, far)
    accepted, ignored, changed, events, touched, rows = 0, 0, 0, [], [], []
    for sc in scores:
        if sc.customer_id not in known:
            continue
        prev = current.get(sc.customer_id)
        if prev is not None and (
            sc.scored_at < prev.scored_at or (sc.scored_at == prev.scored_at and sc.model_version == prev.model_version)
        ):
            ignored += 1
            continue
        rows.append(
            {
                "customer_id": sc.customer_id,
                "scored_at": sc.scored_at,
                "model_version": sc.model_version,
                "churn_probability": sc.churn_probability,
                "risk_band": sc.risk_band,
                "predicted_value_fen": sc.predicted_value_fen,
                "value_horizon_months": sc.value_horizon_months,
                "reasons": dumps([list(r) for r in sc.reasons]),
                "analytics": None if sc.analytics is None else dumps(sc.analytics),
            }
        )
        current[sc.customer_id] = sc
        accepted += 1
        touched.append(sc.customer_id)
        old_band = prev.risk_band if prev else 0
        if old_band != sc.risk_band:
            changed += 1
            events.append(
                ev.AccountEvent(
                    sc.customer_id,
                    ev.RISK_BAND_CHANGED,
                    sc.scored_at,
                    previous_risk_band=old_band,
                    risk_band=sc.risk_band,
                    details={"churn_probability": sc.churn_probability, "model_version": sc.model_version},
                )
            )
    insert_rows(s, ScoreRow.__table__, rows)
    if touched:
        refresh_scores(tx, {cid: current[cid] for cid in touched}, rules, types)
    tx.publish(events, group_roots(s, {e.customer_id for e in events}) if events else {})
    tx.flush()
    return {"accepted": accepted, "ignored": ignored, "unknown": sorted(set(ids) - known), "changed": changed}


def erase_customer(tx: Tx, customer_id: str, reason: str, purge: bool) -> dict[str, int] | None:
    """Remove an account's personal data (and with purge, all its facts); None if unknown."""
    s = tx.s
    acct = s.get(Account, customer_id)
    if acct is None or acct.erased:
        return None
    removed: dict[str, int] = {}

    def count(label: str, result) -> None:
        if result.rowcount:
            removed[label] = removed.get(label, 0) + int(result.rowcount)

    personal_kinds = ["account", "contact", "interaction", "service_event", "opportunity", "competitor"]
    if purge:
        count("records", s.execute(delete(AccountFact).where(AccountFact.customer_id == customer_id)))
        count("billing_records", s.execute(delete(BillingFact).where(BillingFact.customer_id == customer_id)))
        count("cost_records", s.execute(delete(CostFact).where(CostFact.customer_id == customer_id)))
        count("scores", s.execute(delete(ScoreRow).where(ScoreRow.customer_id == customer_id)))
        count("tag_history", s.execute(delete(TagHistory).where(TagHistory.customer_id == customer_id)))
    else:
        for kind in personal_kinds:
            count(
                f"{kind}_records",
                s.execute(delete(AccountFact).where(AccountFact.customer_id == customer_id, AccountFact.kind == kind)),
            )
    count("master_data_history", s.execute(delete(AccountHistory).where(AccountHistory.customer_id == customer_id)))
    tags = s.execute(
        select(AccountTag.tag_id, AccountTag.rule_version).where(AccountTag.customer_id == customer_id)
    ).all()
    count("tags", s.execute(delete(AccountTag).where(AccountTag.customer_id == customer_id)))
    if not purge:
        s.add_all(
            [
                TagHistory(
                    customer_id=customer_id,
                    tag_id=t,
                    assigned=False,
                    rule_version=v,
                    changed_at=tx.now,
                    cause=ev.CAUSE_ERASURE,
                    trigger_values="{}",
                )
                for t, v in tags
            ]
        )
    s.execute(
        update(Account)
        .where(Account.customer_id == customer_id)
        .values(
            name="",
            master="{}",
            features="{}",
            erased=True,
            revenue_12m=None,
            change_seq=tx.change_seq,
            next_expiry_at=None,
            updated_at=tx.now,
        )
    )
    drop_view(s, customer_id)
    removed["master_data"] = 1
    s.add(Erasure(customer_id=customer_id, erased_at=tx.now, reason=reason, purge_facts=purge, removed=dumps(removed)))
    tx.publish([ev.AccountEvent(customer_id, ev.ACCOUNT_ERASED, tx.now)])
    tx.flush()
    return removed


def due_accounts(s: Session, now: dt.datetime, limit: int = 1000) -> list[str]:
    """Accounts whose next time-window expiry has come."""
    return list(
        s.execute(
            select(Account.customer_id)
            .where(Account.next_expiry_at <= now, Account.erased.is_(False))
            .order_by(Account.next_expiry_at)
            .limit(limit)
        ).scalars()
    )


def next_expiry(s: Session) -> dt.datetime | None:
    """The earliest scheduled expiry."""
    return utc(s.execute(select(func.min(Account.next_expiry_at)).where(Account.erased.is_(False))).scalar())
