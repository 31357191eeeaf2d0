"""Assembling Customer360 parts from current facts: shared by the live read and the read model."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.profile.domain import model as m
from services.profile.store.codec import chunks, loads, utc
from services.profile.store.models import Account, AccountTag, BillingFact, CostFact, TagDefinitionRow


def fact_parts(rows: list[tuple], recent: int) -> dict:
    """Contacts, products, recent events and interactions, open opportunities and competitors.

    `rows` are current non-account facts (customer_id, kind, occurred_at, sequence, payload JSON).
    """
    raw = defaultdict(list)
    for cid, kind, occurred, seq, payload in rows:
        raw[kind].append((occurred, seq, cid, payload))
    # Times from one database are all naive or all aware, so they sort as they come; payloads are
    # parsed only where used (most facts are events and interactions, of which only `recent` show).
    facts = {}
    for kind, items in raw.items():
        items.sort(key=lambda x: (x[0], x[1]))
        if kind in ("service_event", "interaction"):
            items = items[-recent:]
        facts[kind] = [(utc(t), seq, cid, loads(payload)) for t, seq, cid, payload in items]
    facts = defaultdict(list, facts)
    contacts = {}
    for _, _, cid, p in facts["contact"]:
        contacts[(cid, p.get("person_id"))] = {**p, "customer_id": cid}
    products: dict[tuple[str, str], dict] = {}
    for occurred, _, cid, p in facts["subscription"]:
        key = (cid, p.get("product_code"))
        if int(p.get("action") or 0) == m.SUB_REMOVED:
            products.pop(key, None)
        else:
            since = products.get(key, {}).get("since", occurred)
            products[key] = {**p, "customer_id": cid, "since": since}
    opps, comps = {}, {}
    for occurred, _, cid, p in facts["opportunity"]:
        opps[(cid, p.get("opportunity_id"))] = {**p, "customer_id": cid, "updated_at": occurred}
    for occurred, _, cid, p in facts["competitor"]:
        comps[(cid, str(p.get("competitor", "")).lower())] = {**p, "customer_id": cid, "observed_at": occurred}
    events = [
        {**p, "customer_id": cid, "occurred_at": t} for t, _, cid, p in reversed(facts["service_event"][-recent:])
    ]
    interactions = [
        {**p, "customer_id": cid, "occurred_at": t} for t, _, cid, p in reversed(facts["interaction"][-recent:])
    ]
    return {
        "contacts": sorted(contacts.values(), key=lambda c: (bool(c.get("inactive")), c.get("person_id", ""))),
        "products": sorted(products.values(), key=lambda p: (p["customer_id"], p.get("product_code", ""))),
        "service_events": events,
        "interactions": interactions,
        "opportunities": [o for o in opps.values() if int(o.get("stage") or 0) not in (m.STAGE_WON, m.STAGE_LOST)],
        "competitors": sorted(comps.values(), key=lambda c: c["observed_at"], reverse=True),
    }


def oldest_month(months: int, now: dt.datetime | None = None) -> str:
    """The first month a spend trend of `months` months reads (generously: a year more)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.year - (months // 12) - 1:04d}-{now.month:02d}"


def spend_rows(s: Session, ids: list[str], months: int, now: dt.datetime | None = None) -> list[Any]:
    """Current billing facts of `ids` from the oldest month a `months`-month trend reads (see spend_from_rows)."""
    return list(
        s.execute(
            select(
                BillingFact.month,
                BillingFact.product_line,
                BillingFact.fee_fen,
                BillingFact.usage_quantity,
                BillingFact.usage_unit,
                BillingFact.lines,
                BillingFact.days_overdue,
                BillingFact.sequence,
                BillingFact.customer_id,
            ).where(
                BillingFact.customer_id.in_(ids),
                BillingFact.superseded_at.is_(None),
                BillingFact.month >= oldest_month(months, now),
            )
        ).all()
    )


def cost_rows(s: Session, ids: list[str], months: int, now: dt.datetime | None = None) -> list[Any]:
    """Current cost facts (customer_id, month, amount_fen) of `ids` from the oldest month a trend reads."""
    return list(
        s.execute(
            select(CostFact.customer_id, CostFact.month, CostFact.amount_fen).where(
                CostFact.customer_id.in_(ids),
                CostFact.superseded_at.is_(None),
                CostFact.month >= oldest_month(months, now),
            )
        ).all()
    )


def spend_from_rows(rows: list, months: int, costs: list | None = None) -> list[dict]:
    """Monthly spend (latest version per account, month and line) of the last `months` months in `rows`.

    Rows are (month, product_line, fee_fen, usage_quantity, usage_unit, lines, days_overdue,
    sequence, customer_id) of current billing facts; `costs` (customer_id, month, amount_fen)
    of current cost facts add each month's cost and margin (margin over the accounts with a
    cost record that month only: missing cost is not zero cost).
    """
    slots: dict[tuple, tuple] = {}
    for r in rows:
        key = (r[8], r[0], r[1])
        if key not in slots or r[7] > slots[key][7]:
            slots[key] = r
    by_month: dict[str, dict] = {}
    for cid, month, line in slots:
        r = slots[(cid, month, line)]
        entry = by_month.setdefault(month, {"month": month, "total": 0, "lines": {}, "overdue": 0})
        entry["total"] += r[2]
        entry["overdue"] = max(entry["overdue"], r[6])
        agg = entry["lines"].setdefault(
            line, {"product_line": line, "fee_fen": 0, "usage_quantity": 0.0, "usage_unit": r[4], "lines": 0}
        )
        agg["fee_fen"] += r[2]
        agg["usage_quantity"] += r[3]
        agg["lines"] += r[5]
    spent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # month -> account -> cost
    for cid, month, amount in costs or ():
        spent[month][cid] += int(amount)
    fees: dict[tuple[str, str], int] = defaultdict(int)
    for (cid, month, _line), r in slots.items():
        fees[(cid, month)] += r[2]
    for month, entry in by_month.items():
        by_account = spent.get(month, {})
        entry["cost"] = sum(by_account.values())
        entry["margin"] = sum(fees[(cid, month)] for cid in by_account) - entry["cost"]
        entry["costed"] = bool(by_account)
    return [by_month[k] for k in sorted(by_month)[-months:]]


def tags_of(s: Session, scope: list[str]) -> list[dict]:
    """Current tags of the accounts with why they hold (definition, trigger values).

    `trigger_values` are the rule's inputs when the tag was assigned; `current_values` the
    same names in the holder's features now (as of `current_values_at`, its last recompute),
    so evidence never passes off old figures as today's.
    """
    out = []
    parsed: dict[str, dict] = {}  # an account holds several tags: parse its features once
    for part in chunks(scope):
        for tag, definition, features, updated_at in s.execute(
            select(AccountTag, TagDefinitionRow, Account.features, Account.updated_at)
            .join(
                TagDefinitionRow,
                (TagDefinitionRow.tag_id == AccountTag.tag_id) & (TagDefinitionRow.version == AccountTag.rule_version),
            )
            .join(Account, Account.customer_id == AccountTag.customer_id)
            .where(AccountTag.customer_id.in_(part))
        ):
            trigger = loads(tag.trigger_values)
            now = parsed.get(tag.customer_id)
            if now is None:
                now = parsed[tag.customer_id] = loads(features)
            out.append(
                {
                    "customer_id": tag.customer_id,
                    "tag_id": tag.tag_id,
                    "rule_version": tag.rule_version,
                    "assigned_at": utc(tag.assigned_at),
                    "trigger_values": trigger,
                    "current_values": {name: now.get(name) for name in trigger},
                    "current_values_at": utc(updated_at),
                    "display_name": definition.display_name,
                    "category": definition.category,
                    "expression": definition.expression,
                }
            )
    return sorted(out, key=lambda t: (t["customer_id"], t["tag_id"]))
