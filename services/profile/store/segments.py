"""Segments: an in-memory column snapshot of current features, refreshed incrementally.

The snapshot keeps every live account's current features (as stored by the last refresh)
sorted by customer_id; a query first pulls only the accounts whose change number moved,
then evaluates the expression column-wise over all accounts at once and pages by keyset
(customer_id > cursor), so pages stay stable while accounts change.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_right

import numpy as np
from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from services.profile.store.codec import loads
from services.profile.store.models import Account, AccountTag
from services.profile.store.scope import Scope, ids_in_scope
from telco360_expr.checker import CheckedExpression
from telco360_expr.segments import member_mask
from telco360_expr.vector import Column, column_from_values
from telco360_runtime.paging import decode_token, encode_token, scope_of


class FeatureSnapshot:
    """Current features of all live accounts, column-wise, loaded column by column on demand.

    A column is one query that lets the database pull the value out of each account's
    features JSON (SQLite json_extract, PostgreSQL ->>), so a first query on 100,000 accounts
    parses no JSON in Python; afterwards only accounts whose change number moved are patched.
    """

    # Past this many changed accounts a full reload (a few SQL-side column reads) beats patching.
    PATCH_LIMIT = 5000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seq = -1
        self.ids: list[str] = []
        self.index: dict[str, int] = {}
        self._columns: dict[str, Column] = {}
        self._kinds: dict[str, str] = {}

    def refresh(self, s: Session) -> None:
        """Pull accounts changed since the last refresh."""
        latest = s.execute(select(func.max(Account.change_seq))).scalar() or 0
        with self._lock:
            if latest == self.seq:
                return
            changed = (
                []
                if self.seq < 0
                else s.execute(
                    select(Account.customer_id, Account.features, Account.erased)
                    .where(Account.change_seq > self.seq)
                    .limit(self.PATCH_LIMIT + 1)
                ).all()
            )
            if (
                self.seq < 0
                or len(changed) > self.PATCH_LIMIT
                or any(bool(erased) == (cid in self.index) for cid, _, erased in changed)
            ):
                # First load, a big change, or accounts appeared/disappeared: reload ids, drop columns.
                self.ids = sorted(s.execute(select(Account.customer_id).where(Account.erased.is_(False))).scalars())
                self.index = {c: i for i, c in enumerate(self.ids)}
                self._columns = {}
            else:
                self._patch_columns([(cid, loads(features)) for cid, features, _ in changed])
            self.seq = latest

    def warm(self, s: Session) -> None:
        """Load ids and the status column ahead of the first query (run in the background on start)."""
        self.refresh(s)
        with self._lock:
            self.load(s, {"status": "string"})

    def _patch_columns(self, changed: list[tuple[str, dict]]) -> None:
        """Rewrite only the changed accounts' entries of the cached columns."""
        if not changed or not self._columns:
            return
        positions = [self.index[c] for c, _ in changed]
        for name, col in self._columns.items():
            fresh = column_from_values(col.kind, [features.get(name) for _, features in changed])
            col.data[positions] = fresh.data
            col.null[positions] = fresh.null

    def load(self, s: Session, wanted: dict[str, str]) -> None:
        """Make sure the columns `wanted` (name -> kind) are loaded: all missing ones in one scan
        (the features JSON is wide, so each scan costs about as much as parsing it once)."""
        missing = [(n, k) for n, k in wanted.items() if n not in self._columns or self._columns[n].kind != k]
        if not missing:
            return
        values = [[None] * len(self.ids) for _ in missing]
        postgres = s.get_bind().dialect.name == "postgresql"
        if postgres:
            doc = cast(Account.features, JSONB)
            q = select(Account.customer_id, *(doc[n].astext for n, _ in missing))
        elif len(missing) == 1:
            q = select(Account.customer_id, func.json_extract(Account.features, _path(missing[0][0])))
        else:  # several paths: SQLite answers one JSON array per row
            q = select(Account.customer_id, func.json_extract(Account.features, *(_path(n) for n, _ in missing)))
        several = not postgres and len(missing) > 1
        for row in s.execute(q.where(Account.erased.is_(False))):
            i = self.index.get(row[0])
            if i is None:
                continue
            found = json.loads(row[1]) if several else row[1:]
            for j, value in enumerate(found):
                values[j][i] = value
        dialect = "postgresql" if postgres else "sqlite"
        for (name, kind), column_values in zip(missing, values, strict=False):
            self._columns[name] = column_from_values(kind, _typed(column_values, kind, dialect))

    def column(self, s: Session, name: str, kind: str) -> Column:
        """The column of one feature over self.ids (call with the lock held)."""
        self.load(s, {name: kind})
        return self._columns[name]


def _path(name: str) -> str:
    """A JSON path naming one top-level key (feature names may contain dots)."""
    return "$." + json.dumps(name)


def _typed(values: list, kind: str, dialect: str) -> list:
    """Values as the column kind wants them (PostgreSQL's ->> answers text; SQLite answers JSON
    numbers natively but true/false as 1/0)."""
    if kind == "bool":
        return [None if v is None else v in (True, 1, "true") for v in values]
    if dialect == "postgresql" and kind == "number":
        out = []
        for v in values:
            try:
                out.append(None if v is None else float(v))
            except ValueError:
                out.append(None)
        return out
    return values


def _listing(expression: str, team: Scope) -> str:
    """The token scope of one segment listing: its expression and, for a scoped caller, the team."""
    return scope_of(expression) if team is None else scope_of(expression, *sorted(team))


def page_token(expression: str, after: str, team: Scope = None) -> str:
    """The token of the page after account `after` (a handler cutting a page short by bytes)."""
    return encode_token(_listing(expression, team), after)


def _team_mask(s: Session, index: dict[str, int], n: int, team: frozenset[str]) -> np.ndarray:
    """Which snapshot positions hold accounts of the team's managers."""
    mask = np.zeros(n, dtype=bool)
    for cid in ids_in_scope(s, team):
        if cid in index:
            mask[index[cid]] = True
    return mask


def query_segment(
    s: Session,
    snapshot: FeatureSnapshot,
    checked: CheckedExpression | None,
    types: dict[str, str],
    include_terminated: bool,
    page_size: int,
    page_token: str,
    count_only: bool,
    feature_names: list[str],
    team: Scope = None,
) -> dict:
    """Count and one page of the accounts matching the expression.

    With `team` (account-team scoping) only the team's accounts are members: the filter is part
    of the membership mask, so counts are the team's, pages stay full and tokens valid.
    """
    snapshot.refresh(s)
    text = checked.text if checked else ""
    listing = _listing(text, team)
    after = decode_token(page_token, listing) if page_token else ""
    with snapshot._lock:
        ids = snapshot.ids
        n = len(ids)
        index = snapshot.index

        def tag_mask(tag_id: str) -> np.ndarray:
            mask = np.zeros(n, dtype=bool)
            for cid in s.execute(select(AccountTag.customer_id).where(AccountTag.tag_id == tag_id)).scalars():
                if cid in index:
                    mask[index[cid]] = True
            return mask

        wanted = {"status": "string"} if not include_terminated else {}
        for name in checked.names if checked else ():
            wanted[name] = types.get(name, "number")
        snapshot.load(s, wanted)
        statuses = None if include_terminated or not n else snapshot.column(s, "status", "string").data
        mask = member_mask(
            checked.tree if checked else None,
            n,
            lambda name: snapshot.column(s, name, types.get(name, "number")),
            tag_mask,
            statuses if n else np.empty(0, dtype=object),
            include_terminated=include_terminated,
        )
        if team is not None:
            mask &= _team_mask(s, index, n, team)
        count = int(mask.sum())
        page_ids: list[str] = []
        next_token = ""
        if not count_only and count:
            start = bisect_right(ids, after) if after else 0
            hits = np.flatnonzero(mask[start:]) + start
            page = hits[:page_size]
            page_ids = [ids[i] for i in page.tolist()]
            if len(hits) > page_size:
                next_token = encode_token(listing, ids[int(page[-1])])
    members = []
    if page_ids:
        rows = {
            cid: (name, tier, features)
            for cid, name, tier, features in s.execute(
                select(Account.customer_id, Account.name, Account.tier, Account.features).where(
                    Account.customer_id.in_(page_ids)
                )
            )
        }
        for cid in page_ids:
            name, tier, features = rows[cid]
            features = loads(features)
            members.append(
                {
                    "customer_id": cid,
                    "name": name,
                    "tier": tier,
                    "features": {f: features[f] for f in feature_names if f in features},
                }
            )
    return {"count": count, "members": members, "next_page_token": next_token}
