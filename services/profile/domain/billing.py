"""Monthly billing facts as numpy columns, and the base-wide revenue distribution.

Billing rows arrive from the store as the visible versions at some moment; several rows may
fill the same (account, month, product line) slot (different sources or records), and the
one with the highest log sequence wins. Fee features are computed from a dense
accounts x months x lines cube built from these columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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
    value = value.astimezone(dt.UTC)
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
    def empty(cls) -> BillingFacts:
        """No facts."""
        z = np.zeros(0)
        return cls(z.astype(np.int64), z.astype(np.int64), z.astype(np.int64), z, z, z, z)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], index: Mapping[str, int]) -> BillingFacts:
        """Build from store rows (customer_id, month, product_line, fee_fen, usage_quantity,
        days_overdue, payment_status, occurred_at, sequence); keeps the latest per slot."""
        rows = [r for r in rows if r[0] in index]
        if not rows:
            return cls.empty()
        cust, month, line, fee, usage, overdue, status, occurred, seq = zip(*rows, strict=False)
        account = np.fromiter((index[c] for c in cust), dtype=np.int64, count=len(rows))
        months = np.fromiter((month_index(m) for m in month), dtype=np.int64, count=len(rows))
        lines = np.asarray(line, dtype=np.int64)
        paid = np.fromiter(
            (o.timestamp() if s == PAYMENT_PAID else np.nan for o, s in zip(occurred, status, strict=False)),
            dtype=np.float64,
            count=len(rows),
        )
        order = np.argsort(np.asarray(seq, dtype=np.int64))[::-1]
        key = (account[order] * 100_000 + months[order]) * LINES + lines[order]
        _, first = np.unique(key, return_index=True)
        keep = order[first]
        return cls(
            account[keep],
            months[keep],
            lines[keep],
            np.asarray(fee, dtype=np.float64)[keep],
            np.asarray(usage, dtype=np.float64)[keep],
            np.asarray(overdue, dtype=np.float64)[keep],
            paid[keep],
        )

    def reference_months(self, n_accounts: int, closed: int | None, before: int) -> np.ndarray:
        """Each account's own reference month (-1: no bill at all): its latest complete month.

        With a closed month, every account's reference is at least that month (a closed month
        without the account's bill counts as missing: fee 0). It moves on into the open months
        after it, one at a time, while the account's bill for the next month has arrived for
        every product line it was billed for in its current reference month (a line billed
        later, or dropped, waits for the close). With no month closed yet, the reference is
        the account's own latest billed month. Months from `before` (as_of's month) on never count.
        """
        inside = self.month < before
        if closed is None:
            ref = np.full(n_accounts, -1, dtype=np.int64)
            np.maximum.at(ref, self.account[inside], self.month[inside])
            return ref
        ref = np.full(n_accounts, closed, dtype=np.int64)
        billed_lines = _line_masks(self, n_accounts, closed, inside, nonzero=True)
        for month in range(closed + 1, before):
            present = _line_masks(self, n_accounts, month, inside, nonzero=False)
            nonzero = _line_masks(self, n_accounts, month, inside, nonzero=True)
            moves = (ref == month - 1) & (present != 0) & ((billed_lines & ~present) == 0)
            ref = np.where(moves, month, ref)
            billed_lines = np.where(moves, nonzero, billed_lines)
        return ref

    def billed_in(self, n_accounts: int, months: np.ndarray) -> np.ndarray:
        """Whether each account has any bill for its own month `months[account]`."""
        out = np.zeros(n_accounts, dtype=bool)
        hit = self.month == months[self.account]
        out[self.account[hit]] = True
        return out

    def cube(self, n_accounts: int, ref_month: int | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fee, usage, in_range) cubes of shape (accounts, 12 months back from ref_month, 8 lines).

        `ref_month` is one month for all accounts or each account's own (reference_months).
        Month slot k is ref_month - k. Months before an account's first bill in the window are
        NaN (the account was not yet a customer); later months without a bill are 0.
        """
        fee = np.zeros((n_accounts, WINDOW_MONTHS, LINES))
        usage = np.zeros((n_accounts, WINDOW_MONTHS, LINES))
        ref = np.broadcast_to(np.asarray(ref_month, dtype=np.int64), (n_accounts,))
        back = ref[self.account] - self.month
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


def _line_masks(billing: BillingFacts, n_accounts: int, month: int, inside: np.ndarray, nonzero: bool) -> np.ndarray:
    """Bit mask per account of the product lines with a bill (with a fee > 0 when `nonzero`) in `month`."""
    hit = inside & (billing.month == month) & (billing.line > 0) & (billing.line < LINES)
    if nonzero:
        hit &= billing.fee > 0
    masks = np.zeros(n_accounts, dtype=np.int64)
    np.bitwise_or.at(masks, billing.account[hit], np.left_shift(1, billing.line[hit]))
    return masks


@dataclass(frozen=True)
class ClosePolicy:
    """When a billing month counts as closed for the whole base (see services/profile/README.md).

    Bills of one month arrive over days (bill runs per region or cycle), so a month without
    an account's bill only means "missing" once the month is closed: declared by an operator,
    or inferred once the accounts billed for it reach `share` of those billed the month
    before, or `days` days after the month's end once they reach `days_share` of them. A
    month with no bill at all is never inferred closed (a stalled billing feed must not make
    the whole base look like it stopped paying). A closed month closes every month before it.
    """

    share: float = 0.95
    days: int = 10
    days_share: float = 0.5

    def month_closed(self, month: int, as_of: dt.datetime, billed: int, before: int) -> bool:
        """Whether `month` counts as closed at as_of from bill counts (billed in it / in the month before)."""
        if billed <= 0:
            return False
        share = 1.0 if before <= 0 else billed / before
        if self.share > 0 and share >= self.share:
            return True
        deadline = _month_start(month + 1) + dt.timedelta(days=self.days)
        return self.days >= 0 and as_of >= deadline and share >= self.days_share

    def latest_closed(self, as_of: dt.datetime, billed: Mapping[int, int], declared: Iterable[int] = ()) -> int | None:
        """The latest closed month before as_of's month, from accounts billed per month (visible at as_of)
        and the months declared closed by then; None when none is."""
        current = month_of_datetime(as_of)
        best = max((m for m in declared if m < current), default=None)
        months = sorted(m for m, n in billed.items() if m < current and n > 0)
        for i in range(len(months) - 1, -1, -1):
            month = months[i]
            if best is not None and month <= best:
                break
            # The denominator: the last earlier month that had bills (a feed gap skips a month).
            before = billed[months[i - 1]] if i > 0 else 0
            if self.month_closed(month, as_of, billed[month], before):
                return month
        return best


def _month_start(index: int) -> dt.datetime:
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


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
