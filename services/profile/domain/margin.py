"""Monthly cost facts and margin features (issue #19): what serving an account costs against its fees.

Costs arrive as ingest cost records: one amount per (account, month, product line, cost
type) and cost source; every visible record counts (two network-cost allocations of one
month add up; a correction replaces its own record's version, in the store). Margin
features describe the same months as the fee features: the account's own reference month
(its latest complete billing month, billing.BillingFacts.reference_months) and the months
before it, so fee and cost always talk about the same months.

Missing cost is not zero cost. A month counts as *costed* when at least one cost record
for it is visible; only costed months enter the margin sums, and both sides of a margin rate
(margin and fee) are taken over the same costed months. A window without a costed month has
no margin features at all (missing), so an account whose costs were never fed is never shown
as a 100 % margin account; `cost_last_month_missing` says that the reference month has a
bill but no cost, and `costed_months_12m` how much of the year is costed. A costed month
without any fee (a project delivered before it is billed) has fee 0 and a negative margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.profile.domain.billing import WINDOW_MONTHS, month_index

COST_TYPES: dict[int, str] = {
    1: "network",
    2: "service",
    3: "discount",
    4: "subsidy",
    5: "channel_commission",
    6: "ict_project",
}
"""ingest.v1.CostType numbers to the names used in feature names."""
TYPE_SLOTS = 7  # cost types 1..6; slot 0 unused

#: Windows of the margin features: months back from the reference month (1 = that month).
WINDOWS = {"last_month": 1, "3m": 3, "12m": 12}

#: Margin columns holding flags (the column matrix is float; these become bools).
MARGIN_BOOL_COLUMNS = frozenset({"cost_last_month_missing"})


@dataclass
class CostFacts:
    """Visible cost records of a batch of accounts, column-wise (one entry per record)."""

    account: np.ndarray
    month: np.ndarray
    cost_type: np.ndarray
    amount: np.ndarray

    @classmethod
    def empty(cls) -> CostFacts:
        """No costs."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z.astype(np.float64))

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], index: Mapping[str, int]) -> CostFacts:
        """Build from store rows (customer_id, month, cost_type, amount_fen); rows of other accounts are dropped."""
        rows = [r for r in rows if r[0] in index]
        if not rows:
            return cls.empty()
        cust, month, kind, amount = zip(*rows, strict=True)
        return cls(
            np.fromiter((index[c] for c in cust), dtype=np.int64, count=len(rows)),
            np.fromiter((month_index(m) for m in month), dtype=np.int64, count=len(rows)),
            np.asarray(kind, dtype=np.int64),
            np.asarray(amount, dtype=np.float64),
        )

    def cube(self, n_accounts: int, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cost by type, costed) of shape (accounts, 12 months back from each ref, types) and (accounts, 12).

        Month slot k is ref - k, like BillingFacts.cube; costs of months after the reference
        month (still open for the account) or older than the window are left out.
        """
        costs = np.zeros((n_accounts, WINDOW_MONTHS, TYPE_SLOTS))
        costed = np.zeros((n_accounts, WINDOW_MONTHS), dtype=bool)
        back = ref[self.account] - self.month
        ok = (back >= 0) & (back < WINDOW_MONTHS)
        a, k = self.account[ok], back[ok]
        kind = np.where((self.cost_type[ok] > 0) & (self.cost_type[ok] < TYPE_SLOTS), self.cost_type[ok], 0)
        np.add.at(costs, (a, k, kind), self.amount[ok])
        costed[a, k] = True
        return costs, costed


def margin_columns(costs: CostFacts, ref: np.ndarray, total_fee: np.ndarray) -> dict[str, np.ndarray]:
    """Cost and margin feature columns of every account.

    `ref` is each account's reference month (as the fee cube used it), `total_fee` the
    (accounts, 12) total fee per month slot from the fee cube (NaN before the account's first
    bill in the window). Columns are NaN where a feature is missing.
    """
    n = len(ref)
    cube, costed = costs.cube(n, ref)
    cost = cube.sum(axis=2)
    fee = np.nan_to_num(total_fee, nan=0.0)
    billed = np.isfinite(total_fee).any(axis=1)
    cols: dict[str, np.ndarray] = {}
    for suffix, months in WINDOWS.items():
        inside = costed[:, :months]
        any_costed = inside.any(axis=1)
        cost_sum = np.where(inside, cost[:, :months], 0.0).sum(axis=1)
        fee_sum = np.where(inside, fee[:, :months], 0.0).sum(axis=1)
        margin = fee_sum - cost_sum
        cols[f"cost_{suffix}_fen"] = np.where(any_costed, cost_sum, np.nan)
        cols[f"margin_{suffix}_fen"] = np.where(any_costed, margin, np.nan)
        with np.errstate(all="ignore"):
            rate = np.where(any_costed & (fee_sum > 0), np.round(margin / fee_sum, 9), np.nan)
        cols[f"margin_rate_{suffix}"] = rate
    year = costed.any(axis=1)
    for slot, name in COST_TYPES.items():
        cols[f"cost_{name}_12m_fen"] = np.where(year, np.where(costed, cube[:, :, slot], 0.0).sum(axis=1), np.nan)
    cols["costed_months_12m"] = np.where(billed | year, costed.sum(axis=1).astype(np.float64), np.nan)
    cols["cost_last_month_missing"] = np.where(np.isfinite(total_fee[:, 0]), (~costed[:, 0]).astype(np.float64), np.nan)
    return cols


def margin_feature_specs() -> list[tuple[str, str]]:
    """(name, description) of every margin feature, for the feature schema."""
    out: list[tuple[str, str]] = []
    for suffix, label in (
        ("last_month", "the reference month"),
        ("3m", "the 3 months to the reference month"),
        ("12m", "the 12 months to the reference month"),
    ):
        out += [
            (f"cost_{suffix}_fen", f"cost of serving the account over the costed months of {label}, fen"),
            (
                f"margin_{suffix}_fen",
                f"fee minus cost over the costed months of {label}, fen (missing when none is costed)",
            ),
            (
                f"margin_rate_{suffix}",
                f"margin / fee over the costed months of {label}, a ratio (0.25 = 25 %); missing without fee",
            ),
        ]
    out += [
        (f"cost_{name}_12m_fen", f"{name.replace('_', ' ')} cost over the costed months of the last 12, fen")
        for name in COST_TYPES.values()
    ]
    out.append(("costed_months_12m", "months of the last 12 (to the reference month) with a cost record"))
    return out
