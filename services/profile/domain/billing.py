"""Monthly billing facts as numpy columns, and the base-wide revenue distribution.

Billing rows arrive from the store as the visible versions at some moment; several rows may
fill the same (account, month, product line) slot (different sources or records), and the
one with the highest log sequence wins. Fee features are computed from a dense
accounts x months x lines cube built from these columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from services.profile.domain.model import PAYMENT_PAID

WINDOW_MONTHS = 12
LINES = 8  # product lines 1..7; slot 0 unused


def month_index(month: str) -> int:
    """'YYYY-MM' as a running month count."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_str(index: int) -> str:
    """Inverse of month_index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of_datetime(value: dt.datetime) -> int:
    """Running month count of a datetime (UTC)."""
    value = value.astimezone(dt.timezone.utc)
    return value.year * 12 + value.month - 1


@dataclass
class BillingFacts:
    """Visible billing facts of a batch of accounts: one entry per filled slot."""

    account: np.ndarray
    month: np.ndarray
    line: np.ndarray
    fee: np.ndarray
    usage: np.ndarray
    days_overdue: np.ndarray
    paid_at: np.ndarray

    @classmethod
    def empty(cls) -> "BillingFacts":
        """No facts."""
        z = np.zeros(0)
        return cls(z.astype(np.int64), z.astype(np.int64), z.astype(np.int64), z, z, z, z)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], index: Mapping[str, int]) -> "BillingFacts":
        """Build from store rows (customer_id, month, product_line, fee_fen, usage_quantity,
        days_overdue, payment_status, occurred_at, sequence); keeps the latest per slot."""
        rows = [r for r in rows if r[0] in index]
        if not rows:
            return cls.empty()
        cust, month, line, fee, usage, overdue, status, occurred, seq = zip(*rows)
        account = np.fromiter((index[c] for c in cust), dtype=np.int64, count=len(rows))
        months = np.fromiter((month_index(m) for m in month), dtype=np.int64, count=len(rows))
        lines = np.asarray(line, dtype=np.int64)
        paid = np.fromiter((o.timestamp() if s == PAYMENT_PAID else np.nan for o, s in zip(occurred, status)),
                           dtype=np.float64, count=len(rows))
        order = np.argsort(np.asarray(seq, dtype=np.int64))[::-1]
        key = (account[order] * 100_000 + months[order]) * LINES + lines[order]
        _, first = np.unique(key, return_index=True)
        keep = order[first]
        return cls(account[keep], months[keep], lines[keep], np.asarray(fee, dtype=np.float64)[keep],
                   np.asarray(usage, dtype=np.float64)[keep], np.asarray(overdue, dtype=np.float64)[keep],
                   paid[keep])

    def cube(self, n_accounts: int, ref_month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fee, usage, in_range) cubes of shape (accounts, 12 months back from ref_month, 8 lines).

        Month slot k is ref_month - k. Months before an account's first bill in the window are
        NaN (the account was not yet a customer); later months without a bill are 0.
        """
        fee = np.zeros((n_accounts, WINDOW_MONTHS, LINES))
        usage = np.zeros((n_accounts, WINDOW_MONTHS, LINES))
        back = ref_month - self.month
        ok = (back >= 0) & (back < WINDOW_MONTHS) & (self.line > 0) & (self.line < LINES)
        a, k, ln = self.account[ok], back[ok], self.line[ok]
        fee[a, k, ln] = self.fee[ok]
        usage[a, k, ln] = self.usage[ok]
        oldest = np.full(n_accounts, -1, dtype=np.int64)
        np.maximum.at(oldest, a, k)
        started = np.arange(WINDOW_MONTHS)[None, :] <= oldest[:, None]
        fee[~started] = np.nan
        usage[~started] = np.nan
        return fee, usage, started


class RevenueBase:
    """The distribution of 12-month revenue over the active base, for revenue-share tiers."""

    def __init__(self, revenues: Iterable[float]) -> None:
        values = np.sort(np.asarray(list(revenues), dtype=np.float64))
        self.sorted = values[np.isfinite(values)]
        self.prefix = np.concatenate([[0.0], np.cumsum(self.sorted)])
        self.total = float(self.prefix[-1])

    def __len__(self) -> int:
        return len(self.sorted)

    def cum_share_pct(self, values: np.ndarray) -> np.ndarray:
        """Percent of total revenue held by accounts with strictly more revenue than each value."""
        values = np.asarray(values, dtype=np.float64)
        if self.total <= 0:
            return np.full(values.shape, np.nan)
        idx = np.searchsorted(self.sorted, np.nan_to_num(values, nan=0.0), side="right")
        above = self.total - self.prefix[idx]
        return np.where(np.isfinite(values), np.round(100.0 * above / self.total, 9), np.nan)
