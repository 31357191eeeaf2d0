"""Segments: an in-memory column snapshot of current features, refreshed incrementally.

The snapshot keeps every live account's current features (as stored by the last refresh)
sorted by customer_id; a query first pulls only the accounts whose change number moved,
then evaluates the expression column-wise over all accounts at once and pages by keyset
(customer_id > cursor), so pages stay stable while accounts change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from bisect import bisect_left, bisect_right

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telco360_expr.checker import CheckedExpression
from telco360_expr.vector import Column, column_from_values, evaluate
from services.profile.store.codec import loads
from services.profile.store.models import Account, AccountTag
from telco360_runtime.errors import FieldViolation, InvalidArgument


class FeatureSnapshot:
    """Current features of all live accounts, column-wise."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seq = -1
        self.rows: dict[str, tuple[dict, str, int]] = {}
        self.ids: list[str] = []
        self._columns: dict[str, Column] = {}

    def refresh(self, s: Session) -> None:
        """Pull accounts changed since the last refresh."""
        latest = s.execute(select(func.max(Account.change_seq))).scalar() or 0
        with self._lock:
            if latest == self.seq:
                return
            q = select(Account.customer_id, Account.features, Account.name, Account.tier, Account.erased)
            if self.seq >= 0:
                q = q.where(Account.change_seq > self.seq)
            added = False
            changed: list[str] = []
            for cid, features, name, tier, erased in s.execute(q):
                if erased:
                    added |= self.rows.pop(cid, None) is not None
                    continue
                added |= cid not in self.rows
                self.rows[cid] = (loads(features), name, tier)
                changed.append(cid)
            if added or self.seq < 0:
                self.ids = sorted(self.rows)
                self._columns = {}
            else:
                self._patch_columns(changed)
            self.seq = latest

    def _patch_columns(self, changed: list[str]) -> None:
        """Rewrite only the changed accounts' entries of the cached columns."""
        if not changed or not self._columns:
            return
        positions = [bisect_left(self.ids, c) for c in changed]
        for name, col in self._columns.items():
            fresh = column_from_values(col.kind, [self.rows[c][0].get(name) for c in changed])
            col.data[positions] = fresh.data
            col.null[positions] = fresh.null

    def column(self, name: str, kind: str) -> Column:
        """The column of one feature over self.ids."""
        col = self._columns.get(name)
        if col is None:
            col = column_from_values(kind, [self.rows[c][0].get(name) for c in self.ids])
            self._columns[name] = col
        return col


def _token(expression: str, after: str) -> str:
    digest = hashlib.sha256(expression.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(json.dumps({"a": after, "h": digest}).encode()).decode()


def _parse_token(token: str, expression: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after, digest = str(data["a"]), str(data["h"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(FieldViolation("page.page_token", "is not a valid page token", "INVALID_FORMAT")) from None
    if digest != hashlib.sha256(expression.encode()).hexdigest()[:12]:
        raise InvalidArgument(FieldViolation("page.page_token", "belongs to another expression", "INVALID_ARGUMENT"))
    return after


def query_segment(s: Session, snapshot: FeatureSnapshot, checked: CheckedExpression | None, types: dict[str, str],
                  include_terminated: bool, page_size: int, page_token: str, count_only: bool,
                  feature_names: list[str]) -> dict:
    """Count and one page of the accounts matching the expression."""
    snapshot.refresh(s)
    text = checked.text if checked else ""
    after = _parse_token(page_token, text) if page_token else ""
    with snapshot._lock:
        ids = list(snapshot.ids)
        n = len(ids)
        index = {c: i for i, c in enumerate(ids)} if checked and checked.tags else None

        def tag_mask(tag_id: str) -> np.ndarray:
            mask = np.zeros(n, dtype=bool)
            for cid in s.execute(select(AccountTag.customer_id).where(AccountTag.tag_id == tag_id)).scalars():
                if cid in index:
                    mask[index[cid]] = True
            return mask

        mask = (evaluate(checked.tree, n, lambda name: snapshot.column(name, types.get(name, "number")), tag_mask)
                if checked else np.ones(n, dtype=bool))
        if not include_terminated and n:
            status = snapshot.column("status", "string")
            mask &= status.data == "ACTIVE"
        count = int(mask.sum())
        members = []
        next_token = ""
        if not count_only and count:
            start = bisect_right(ids, after) if after else 0
            hits = np.flatnonzero(mask[start:]) + start
            page = hits[:page_size]
            for i in page.tolist():
                features, name, tier = snapshot.rows[ids[i]]
                members.append({"customer_id": ids[i], "name": name, "tier": tier,
                                "features": {f: features[f] for f in feature_names if f in features}})
            if len(hits) > page_size:
                next_token = _token(text, ids[int(page[-1])])
    return {"count": count, "members": members, "next_page_token": next_token}
