"""Profile's features of a generated base, computed in process the way profile computes them.

Every generated record goes through profile's own conversion (`record_payload`), billing
into `BillingFacts.from_rows` (the latest version per slot, as the store loads them), the
other records into facts and merged master data, and `compute_features` computes the
features as of the first instant after the last generated month with that month closed:
the same numbers profile would export, without a store or servers in between. Used by the
outlier tests and bench/scoring/outliers.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np

from services.profile.domain import model as pm
from services.profile.domain.billing import BillingFacts, month_index
from services.profile.domain.features import AccountInput, compute_features
from services.profile.domain.model import Fact, MergedAccount
from services.profile.peers.ingest import record_payload
from telco360_datagen import GeneratedBase

UTC = dt.UTC


def as_of_after(base: GeneratedBase) -> dt.datetime:
    """The first instant after the base's last generated month (UTC)."""
    year, month = (int(x) for x in base.months[-1].split("-"))
    return dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def profile_columns(base: GeneratedBase) -> tuple[list[str], dict[str, np.ndarray]]:
    """Active accounts' ids and their numeric features as columns (NaN = missing), as of as_of_after."""
    as_of = as_of_after(base)
    accounts: dict[str, MergedAccount] = {}
    facts: dict[str, list[Fact]] = defaultdict(list)
    bills: list[tuple[Any, ...]] = []
    for seq, record in enumerate(base.records(), 1):
        kind, payload = record_payload(record)
        cid = record.customer_id
        at = record.occurred_at.ToDatetime(tzinfo=UTC)
        account = accounts.setdefault(cid, MergedAccount(cid, first_seen_at=at))
        if kind == "billing":
            bills.append(
                (
                    cid,
                    payload["month"],
                    int(payload.get("product_line", 0)),
                    float(payload.get("fee_fen", 0)),
                    float(payload.get("usage_quantity", 0.0)),
                    float(payload.get("days_overdue", 0)),
                    int(payload.get("payment_status", 0)),
                    at,
                    seq,
                )
            )
        elif kind == "account":
            account.fields.update({k: v for k, v in payload.items() if k != "attributes"})
            account.attributes.update(payload.get("attributes", {}))
        elif kind == "lifecycle":
            terminated = int(payload.get("action", 0)) == pm.LIFECYCLE_TERMINATED
            account.status = pm.STATUS_TERMINATED if terminated else pm.STATUS_ACTIVE
        else:
            facts[cid].append(Fact(kind, at, seq, record.source, payload))
    ids = sorted(accounts)
    index = {cid: i for i, cid in enumerate(ids)}
    inputs = [AccountInput(cid, accounts[cid], facts[cid]) for cid in ids]
    billing = BillingFacts.from_rows(bills, index)
    results = compute_features(inputs, billing, as_of, month_index(base.months[-1]))
    active = [r for r in results if r.features.get("status") == "ACTIVE"]
    names = sorted({k for r in active for k, v in r.features.items() if isinstance(v, (int, float))})
    columns = {
        name: np.array([float(r.features.get(name, np.nan)) for r in active], dtype=np.float64) for name in names
    }
    return [r.customer_id for r in active], columns
