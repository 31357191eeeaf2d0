"""Read models: the local part of Customer360, the event feed and label outcomes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.profile.domain import model as m
from services.profile.domain.features import own_month_summary
from services.profile.store.assemble import cost_rows, fact_parts, spend_from_rows, spend_rows, tags_of
from services.profile.store.codec import chunks, loads, utc
from services.profile.store.loader import latest_scores
from services.profile.store.models import Account, AccountEventRow, AccountFact, BillingFact, CostFact, Erasure
from services.profile.store.refresh import group_roots
from services.profile.store.scope import Scope, visible


def group_members(s: Session, root: str) -> list[str]:
    """The root and all its descendants, in customer_id order."""
    members, frontier = {root}, [root]
    for _ in range(16):
        if not frontier:
            break
        children = list(
            s.execute(
                select(Account.customer_id).where(Account.parent_customer_id.in_(frontier), Account.erased.is_(False))
            ).scalars()
        )
        frontier = [c for c in children if c not in members]
        members.update(frontier)
    return sorted(members)


def change_seq(s: Session, customer_id: str) -> int | None:
    """The account's change number (None for unknown or erased accounts)."""
    row = s.execute(select(Account.change_seq, Account.erased).where(Account.customer_id == customer_id)).first()
    return None if row is None or row[1] else int(row[0])


def customer360(
    s: Session, customer_id: str, group: bool, trend_months: int, recent: int, team: Scope = None
) -> dict | None:
    """Everything profile itself knows for the 360° view; None for unknown/erased accounts.

    With `team` (account-team scoping) the group's members, the children and the group-level
    parts cover only the accounts of that team.
    """
    acct = s.get(Account, customer_id)
    if acct is None or acct.erased:
        return None
    root = group_roots(s, [customer_id])[customer_id]
    members_all = group_members(s, root)
    scope = group_members(s, customer_id) if group else [customer_id]
    children = sorted(
        s.execute(
            select(Account.customer_id).where(Account.parent_customer_id == customer_id, Account.erased.is_(False))
        ).scalars()
    )
    if team is not None:
        allowed = visible(s, [*members_all, *scope, *children], team)
        members_all = [c for c in members_all if c in allowed]
        scope = [c for c in scope if c in allowed]
        children = [c for c in children if c in allowed]
    facts: list[Any] = []
    for part in chunks(scope):
        facts.extend(
            s.execute(
                select(
                    AccountFact.customer_id,
                    AccountFact.kind,
                    AccountFact.occurred_at,
                    AccountFact.sequence,
                    AccountFact.payload,
                ).where(
                    AccountFact.customer_id.in_(part),
                    AccountFact.superseded_at.is_(None),
                    AccountFact.kind != "account",
                )
            ).all()
        )
    billing: list[tuple] = []
    costs: list[tuple] = []
    for part in chunks(scope):
        billing.extend(spend_rows(s, part, trend_months))
        costs.extend(cost_rows(s, part, trend_months))
    return {
        "account": acct,
        "master": loads(acct.master),
        "children": children,
        "root": root,
        "members_all": members_all,
        **fact_parts(facts, recent),
        "spend": spend_from_rows(billing, trend_months, costs),
        "tags": tags_of(s, scope),
        "features": loads(acct.features),
        "group_fee_last_month": _group_fee(s, members_all),
        "score": latest_scores(s, [customer_id], dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)).get(customer_id),
    }


def _group_fee(s: Session, members: list[str]) -> tuple[int, list[int]]:
    """The group's fee and product lines: each member's own latest complete month, added up."""
    total, lines = 0, set()
    for part in chunks(members):
        for features, updated_at in s.execute(
            select(Account.features, Account.updated_at).where(Account.customer_id.in_(part), Account.erased.is_(False))
        ):
            _, fee, own_lines = own_month_summary(loads(features), utc(updated_at))
            total += fee
            lines.update(own_lines)
    return total, sorted(lines)


def read_events(s: Session, after: int, limit: int, types: list[int], customer_id: str) -> list[AccountEventRow]:
    """Events after a sequence, in order."""
    q = select(AccountEventRow).where(AccountEventRow.sequence > after)
    if types:
        q = q.where(AccountEventRow.type.in_(types))
    if customer_id:
        q = q.where(AccountEventRow.customer_id == customer_id)
    return list(s.execute(q.order_by(AccountEventRow.sequence).limit(limit)).scalars())


def outcomes(s: Session, from_month: str, to_month: str, customer_ids: list[str]) -> list[dict]:
    """Monthly totals, costs and lifecycle changes of accounts in a window (everything known now).

    `costs` maps each month with a cost record to its total cost (every current cost record
    counts, as in the margin features); months without one are absent (cost unknown).
    """
    erased = set(s.execute(select(Erasure.customer_id)).scalars())
    q = select(
        BillingFact.customer_id, BillingFact.month, BillingFact.product_line, BillingFact.fee_fen, BillingFact.sequence
    ).where(BillingFact.superseded_at.is_(None), BillingFact.month >= from_month, BillingFact.month <= to_month)
    ids = customer_ids or list(s.execute(select(Account.customer_id).where(Account.erased.is_(False))).scalars())
    wanted = set(ids) - erased
    slots: dict[tuple, tuple] = {}
    for cid, month, line, fee, seq in s.execute(q):
        if cid in wanted and ((cid, month, line) not in slots or seq > slots[(cid, month, line)][1]):
            slots[(cid, month, line)] = (fee, seq)
    months: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for (cid, month, _line), (fee, _) in slots.items():
        months[cid][month][0] += fee
        months[cid][month][1] += 1 if fee > 0 else 0
    costs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cid, month, amount in s.execute(
        select(CostFact.customer_id, CostFact.month, CostFact.amount_fen).where(
            CostFact.superseded_at.is_(None), CostFact.month >= from_month, CostFact.month <= to_month
        )
    ):
        if cid in wanted:
            costs[cid][month] += int(amount)
    end = dt.datetime(int(to_month[:4]) + (to_month[5:7] == "12"), int(to_month[5:7]) % 12 + 1, 1, tzinfo=dt.UTC)
    life: dict[str, list] = defaultdict(list)
    for part in chunks(sorted(wanted)):
        for cid, occurred, payload in s.execute(
            select(AccountFact.customer_id, AccountFact.occurred_at, AccountFact.payload).where(
                AccountFact.customer_id.in_(part), AccountFact.kind == "lifecycle", AccountFact.superseded_at.is_(None)
            )
        ):
            life[cid].append((utc(occurred), loads(payload)))
    start = dt.datetime(int(from_month[:4]), int(from_month[5:7]), 1, tzinfo=dt.UTC)
    out = []
    for cid in sorted(wanted):
        changes = sorted(life.get(cid, []), key=lambda x: x[0])
        before = [c for c in changes if c[0] < start][-1:]
        inside = [c for c in changes if start <= c[0] < end]
        upto = [c for c in changes if c[0] < end]
        status = m.STATUS_ACTIVE
        if upto and int(upto[-1][1].get("action") or 0) == m.LIFECYCLE_TERMINATED:
            status = m.STATUS_TERMINATED
        out.append(
            {
                "customer_id": cid,
                "months": sorted((k, v[0], v[1]) for k, v in months.get(cid, {}).items()),
                "costs": dict(costs.get(cid, {})),
                "lifecycle": before + inside,
                "status": status,
            }
        )
    return out
