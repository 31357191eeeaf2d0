"""Customer360 read model: every account's rendered view, rebuilt in the transaction that changes it.

GetCustomer360 is the hot read of a CRM screen; assembling it from facts takes a dozen
queries and thousands of JSON/protobuf conversions. Instead, whenever `refresh_accounts`
recomputes accounts (log apply, scores, tag changes, window expiry), the transaction also
renders their account-level views (default trend and recent limits) in bulk, one query per
table for the whole batch, and stores the bytes. A read is then one primary-key lookup.

The parts that depend on *other* accounts (group root, members, children, group fee) are
not stored: `Hierarchy` keeps the parent links and each account's own latest complete month
(its fee reference month, total and lines: `own_month_summary`) in memory and pulls only accounts whose change number
moved, checked in the same read
transaction as the view, so an answer is never older than what that transaction sees.

The store never interprets the bytes: the use case passes the renderer (ViewRenderer) with
the write transaction (`Tx.render`), so the store stays free of protobuf.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.profile.domain.features import own_month_summary
from services.profile.store.assemble import (
    cost_rows,
    fact_parts,
    oldest_month,
    spend_from_rows,
    spend_rows,
    tags_of,
)
from services.profile.store.bulk import insert_rows
from services.profile.store.codec import chunks, dumps, loads, utc
from services.profile.store.loader import latest_scores
from services.profile.store.models import Account, AccountFact, AccountView
from services.profile.store.scope import Scope, visible

TREND_MONTHS = 12
RECENT_LIMIT = 20
"""The request defaults the stored views are rendered for; other limits are assembled live."""


class ViewRenderer(Protocol):
    """Turns Customer360 parts into stored bytes (the service supplies it; the store never parses them)."""

    def facts(self, data: dict) -> bytes:
        """The record-derived part: contacts, products, spend, service events, interactions, opportunities,
        competitors."""

    def state(self, data: dict) -> bytes:
        """The recomputed part: account (master data), features, tags and score."""


@dataclass(frozen=True, slots=True)
class AccountStamp:
    """What the Account message needs of the accounts row besides master data."""

    customer_id: str
    updated_at: dt.datetime


def rebuild_views(
    s: Session,
    customer_ids: Sequence[str],
    now: dt.datetime,
    render: ViewRenderer | None,
    facts_changed: bool = True,
) -> int:
    """Re-render the stored views of these accounts (no-op without a renderer); returns how many.

    A view is stored in two parts that concatenate into one message: `body` (contacts,
    products, spend, events, interactions, opportunities, competitors: what records bring)
    and `state` (account, features, tags, score: what every refresh recomputes). Without
    `facts_changed` (scores, tag definitions, window expiry) only `state` is re-rendered,
    which is what keeps RecordScores cheap for thousands of accounts.
    """
    if render is None or not customer_ids:
        return 0
    done = 0
    for part in chunks(sorted(set(customer_ids)), 500):
        if facts_changed:
            done += _rebuild_full(s, part, render, now)
            continue
        stored = set(s.execute(select(AccountView.customer_id).where(AccountView.customer_id.in_(part))).scalars())
        missing = [c for c in part if c not in stored]
        if missing:  # accounts from before the read model: render them whole once
            done += _rebuild_full(s, missing, render, now)
        states = _states(s, [c for c in part if c in stored], render, now)
        if states:
            # The own-month summary follows the features (a billing period closing moves it).
            own = _own_months(s, list(states))
            s.execute(update(AccountView), [{"customer_id": c, "state": b, **own[c]} for c, b in states.items()])
        done += len(states)
    return done


def _states(s: Session, ids: list[str], render: ViewRenderer, now: dt.datetime) -> dict[str, bytes]:
    """Rendered state parts of the live accounts among `ids`."""
    if not ids:
        return {}
    accounts = s.execute(
        select(Account.customer_id, Account.master, Account.features, Account.updated_at).where(
            Account.customer_id.in_(ids), Account.erased.is_(False)
        )
    ).all()
    tags: dict[str, list] = defaultdict(list)
    for tag in tags_of(s, ids):
        tags[tag["customer_id"]].append(tag)
    scores = latest_scores(s, ids, now + dt.timedelta(days=36500))
    return {
        cid: render.state(
            {
                "account": AccountStamp(cid, utc(updated_at)),
                "master": loads(master),
                "root": "",
                "children": [],
                "tags": tags.get(cid, []),
                "features": loads(features),
                "score": scores.get(cid),
            }
        )
        for cid, master, features, updated_at in accounts
    }


def _own_months(s: Session, ids: list[str]) -> dict[str, dict]:
    """The view columns of each account's own latest complete month (group summaries add these up)."""
    out = {}
    for cid, features, updated_at in s.execute(
        select(Account.customer_id, Account.features, Account.updated_at).where(Account.customer_id.in_(ids))
    ):
        month, fee, lines = own_month_summary(loads(features), utc(updated_at))
        out[cid] = {"last_month": month, "last_month_fee_fen": fee, "last_month_lines": dumps(lines)}
    return out


def _rebuild_full(s: Session, ids: list[str], render: ViewRenderer, now: dt.datetime) -> int:
    states = _states(s, ids, render, now)
    own = _own_months(s, list(states))
    facts: dict[str, list] = defaultdict(list)
    for row in s.execute(
        select(
            AccountFact.customer_id,
            AccountFact.kind,
            AccountFact.occurred_at,
            AccountFact.sequence,
            AccountFact.payload,
        ).where(AccountFact.customer_id.in_(ids), AccountFact.superseded_at.is_(None), AccountFact.kind != "account")
    ):
        facts[row[0]].append(row)
    billing: dict[str, list] = defaultdict(list)
    for bill in spend_rows(s, ids, TREND_MONTHS, now):
        billing[bill[8]].append(bill)
    costs: dict[str, list] = defaultdict(list)
    for cost in cost_rows(s, ids, TREND_MONTHS, now):
        costs[cost[0]].append(cost)
    rows = []
    for cid, state in states.items():
        spend = spend_from_rows(billing.get(cid, []), TREND_MONTHS, costs.get(cid, []))
        body = render.facts({**fact_parts(facts.get(cid, []), RECENT_LIMIT), "spend": spend})
        rows.append({"customer_id": cid, "body": body, "state": state, **own[cid]})
    s.execute(delete(AccountView).where(AccountView.customer_id.in_(ids)))
    insert_rows(s, AccountView.__table__, rows)
    return len(rows)


def drop_view(s: Session, customer_id: str) -> None:
    """Forget an account's stored view (erasure)."""
    s.execute(delete(AccountView).where(AccountView.customer_id == customer_id))


@dataclass(slots=True)
class _Node:
    parent: str
    last_month: str
    fee: int
    lines: list[int]


class Hierarchy:
    """Parent links and own latest complete month of every live account, kept in step by change number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = -1
        self._nodes: dict[str, _Node] = {}
        self._children: dict[str, set[str]] = defaultdict(set)

    def sync(self, s: Session | Connection, latest: int) -> None:
        """Pull accounts whose change number passed the last one seen (`latest` read in this transaction)."""
        with self._lock:
            if latest <= self._seq:
                return
            q = select(
                Account.customer_id,
                Account.parent_customer_id,
                Account.erased,
                AccountView.last_month,
                AccountView.last_month_fee_fen,
                AccountView.last_month_lines,
            ).outerjoin(AccountView, AccountView.customer_id == Account.customer_id)
            if self._seq >= 0:
                q = q.where(Account.change_seq > self._seq)
            for cid, parent, erased, month, fee, lines in s.execute(q):
                old = self._nodes.pop(cid, None)
                if old is not None:
                    self._children[old.parent].discard(cid)
                if erased:
                    continue
                self._nodes[cid] = _Node(parent or "", month or "", int(fee or 0), loads(lines) if lines else [])
                if parent:
                    self._children[parent].add(cid)
            self._seq = max(self._seq, latest)

    def warm(self, s: Session) -> None:
        """Load every account's links ahead of the first read (run in the background on start)."""
        self.sync(s, int(s.execute(select(func.max(Account.change_seq))).scalar() or 0))

    def group_fields(
        self, customer_id: str, now: dt.datetime, keep: Callable[[set[str]], set[str]] | None = None
    ) -> dict:
        """root, sorted members of its group, sorted live children, and the group's fee and lines.

        The group's fee adds up each member's own latest complete month (members' bills for a
        month arrive on different days: one member's early bill is not the group's month).
        With `keep` (account-team scoping: the accounts among those given the caller may see),
        members, children and the fee cover only the accounts it keeps.
        """
        with self._lock:
            node, seen = customer_id, {customer_id}
            while (parent := self._nodes[node].parent if node in self._nodes else "") and parent not in seen:
                node = parent
                seen.add(node)
            root = node
            members, frontier = {root}, [root]
            for _ in range(16):
                frontier = [c for p in frontier for c in self._children.get(p, ()) if c not in members]
                if not frontier:
                    break
                members.update(frontier)
            children = set(self._children.get(customer_id, ()))
        if keep is not None:  # outside the lock: it reads the store
            allowed = keep(members | children)
            members, children = members & allowed, children & allowed
        cutoff = oldest_month(1, now)
        with self._lock:
            billed = [self._nodes[c] for c in members if c in self._nodes and self._nodes[c].last_month >= cutoff]
        total, lines = 0, set()
        for n in billed:
            total += n.fee
            lines.update(n.lines)
        return {
            "root": root,
            "members": sorted(members),
            "children": sorted(children),
            "fee": total,
            "lines": sorted(lines),
        }


# One statement for the hot read, built once: SQLAlchemy's per-call statement building and
# cache-key work cost several times the lookup itself.
_READ = text("SELECT body, state, (SELECT max(change_seq) FROM accounts) FROM account_views WHERE customer_id = :cid")


def read_view(
    s: Session | Connection, hierarchy: Hierarchy, customer_id: str, scope: Scope = None
) -> tuple[bytes, dict] | None:
    """(stored view, group fields) of a live account, or None when no view is stored for it.

    Takes a plain Connection too: the hot path skips the ORM session's set-up and commit.
    With a `scope` (account-team scoping) the group fields name only the scope's accounts.
    """
    conn = s.connection() if isinstance(s, Session) else s
    row = conn.execute(_READ, {"cid": customer_id}).first()
    if row is None:
        return None
    hierarchy.sync(conn, int(row[2] or 0))
    # Serialized messages concatenate into their merge: the two parts never set the same field.
    keep = None if scope is None else (lambda ids: visible(conn, ids, scope))
    return bytes(row[0]) + bytes(row[1]), hierarchy.group_fields(customer_id, dt.datetime.now(dt.UTC), keep)
