"""Seeded synthetic key-account histories for scoring's tests and benchmarks (domain layer, pure).

A vectorised monthly simulation: accounts hold product lines with noisy fees; some enter a
"wavering" phase (a competitor approaches, one line's fee falls month by month, complaints
rise, visits thin out) and most of those terminate a few months later; a few leave with no
warning; contract ends raise the risk. `features_as_of` computes point-in-time features
from months strictly before a cut-off only, with the feature names profile exports, and
`outcomes` gives the label facts, so training sets can be built exactly as the service
builds them from profile. The service itself always uses profile; this module lets the
domain be tested and benchmarked at any size without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .labels import Outcomes, add_months, utc

LINES = ("voice", "mobile_data", "broadband", "dedicated_line", "cloud")
INDUSTRIES = ("GOV", "EDU", "HEALTH", "FINANCE", "MANUFACTURING", "RETAIL", "ICT", "LOGISTICS")
INDUSTRY_RISK = np.array([-0.6, -0.3, -0.2, 0.2, 0.3, 0.5, 0.4, 0.3])
REGIONS = ("Guangdong/Shenzhen", "Guangdong/Guangzhou", "Zhejiang/Hangzhou", "Jiangsu/Nanjing", "Sichuan/Chengdu")
TIERS = ("DIAMOND", "EMERALD", "PLATINUM", "SAPPHIRE", "GOLD", "CRYSTAL")


@dataclass
class SyntheticBase:
    """Monthly history of a synthetic base (arrays indexed [account, month(, line)])."""

    customer_ids: np.ndarray
    start_month: str
    months: int
    industry: np.ndarray
    region: np.ndarray
    tier: np.ndarray
    start: np.ndarray
    fees: np.ndarray
    complaints: np.ndarray
    faults: np.ndarray
    visits: np.ndarray
    survey: np.ndarray
    overdue: np.ndarray
    approach: np.ndarray
    contract_end: np.ndarray
    competitor_end: np.ndarray
    terminated: np.ndarray

    def month_name(self, m: int) -> str:
        """'YYYY-MM' of month index m."""
        return add_months(self.start_month, m)

    def cutoff(self, m: int) -> pd.Timestamp:
        """The cut-off at the start of month index m (features see months < m)."""
        return utc(f"{self.month_name(m)}-01")


def generate(n_accounts: int, months: int = 36, start_month: str = "2023-01", seed: int = 7) -> SyntheticBase:
    """Simulate a base of n accounts over `months` months."""
    rng = np.random.default_rng(seed)
    n, M, L = n_accounts, months, len(LINES)
    industry = rng.integers(0, len(INDUSTRIES), n)
    region = rng.integers(0, len(REGIONS), n)
    scale = rng.lognormal(mean=np.log(40_000_00), sigma=1.0, size=n)
    holds = rng.random((n, L)) < np.array([0.8, 0.9, 0.7, 0.55, 0.35])
    holds[:, 3] |= ~holds.any(axis=1)
    share = rng.dirichlet(np.ones(L), n) * holds
    share /= share.sum(axis=1, keepdims=True)
    # Accounts join over the first year; a third were customers before the window.
    start = np.where(rng.random(n) < 0.65, 0, rng.integers(0, 12, n))
    contract_end = rng.integers(6, M + 18, n)
    competitor_end = np.where(rng.random(n) < 0.4, rng.integers(0, M + 12, n), -999)
    base_logit = -6.2 + INDUSTRY_RISK[industry] + rng.normal(0, 0.5, n)

    fees = np.zeros((n, M, L))
    complaints = np.zeros((n, M))
    faults = np.zeros((n, M))
    visits = np.zeros((n, M))
    survey = np.full((n, M), np.nan)
    overdue = np.zeros((n, M))
    approach = np.zeros((n, M), dtype=bool)
    terminated = np.full(n, -1)
    waver = np.full(n, -1)
    drop_line = np.argmax(share * rng.random((n, L)), axis=1)
    level = np.ones(n)
    alive = np.ones(n, dtype=bool)
    for m in range(M):
        active = alive & (start <= m)
        near_end = np.abs(contract_end - m) <= 2
        comp_near = (competitor_end >= m) & (competitor_end - m <= 3)
        p_waver = 1 / (1 + np.exp(-(base_logit + 1.8 * near_end + 1.2 * comp_near + 1.5)))
        start_waver = active & (waver < 0) & (rng.random(n) < p_waver)
        waver[start_waver] = m
        wavering = active & (waver >= 0)
        months_in = np.where(wavering, m - waver, 0)
        p_leave = np.where(
            wavering, 0.05 + 0.16 * np.minimum(months_in, 4), 1 / (1 + np.exp(-(base_logit + 1.5 * near_end)))
        )
        leave = active & (rng.random(n) < p_leave) & ((months_in >= 1) | ~wavering)
        # Some wavering accounts are won back.
        recover = wavering & (rng.random(n) < 0.05)
        waver[recover] = -1
        level = np.where(recover, 1.0, level)
        season = 1 + 0.05 * np.sin(2 * np.pi * (m % 12) / 12)
        noise = rng.lognormal(0, 0.05, (n, L))
        f = scale[:, None] * share * season * noise
        decay = np.where(wavering, 0.82 ** np.maximum(months_in, 0), 1.0)
        f[np.arange(n), drop_line] *= decay
        f *= np.where(wavering, 0.97**months_in, 1.0)[:, None]
        fees[:, m, :] = np.where(active[:, None], np.round(f), 0)
        complaints[:, m] = np.where(active, rng.poisson(0.08 + 0.55 * wavering), 0)
        faults[:, m] = np.where(active, rng.poisson(0.15 + 0.3 * wavering), 0)
        visits[:, m] = np.where(active, rng.poisson(np.where(wavering, 0.25, 0.7)), 0)
        surveyed = active & (rng.random(n) < 0.15)
        survey[:, m] = np.where(surveyed, np.clip(rng.normal(np.where(wavering, 2.8, 4.1), 0.6), 1, 5), np.nan)
        overdue[:, m] = np.where(active & (rng.random(n) < 0.04 + 0.1 * wavering), rng.integers(5, 90, n), 0)
        approach[:, m] = active & (wavering & (rng.random(n) < 0.5) | (rng.random(n) < 0.01))
        terminated[leave] = m
        alive &= ~leave
    return SyntheticBase(
        customer_ids=np.array([f"KA{i:07d}" for i in range(n)]),
        start_month=start_month,
        months=M,
        industry=industry,
        region=region,
        tier=np.clip((np.argsort(np.argsort(-scale)) / n * 6).astype(int), 0, 5),
        start=start,
        fees=fees,
        complaints=complaints,
        faults=faults,
        visits=visits,
        survey=survey,
        overdue=overdue,
        approach=approach,
        contract_end=contract_end,
        competitor_end=competitor_end,
        terminated=terminated,
    )


def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Percent change, NaN when the old value is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old > 0, (new - old) / old * 100.0, np.nan)


def features_as_of(base: SyntheticBase, m: int) -> pd.DataFrame:
    """Point-in-time features at the start of month m (from months < m only).

    Accounts not yet customers are left out; accounts terminated before m are included
    with status 'terminated' (the training-set builder drops them).
    """
    known = base.start < m
    idx = np.where(known)[0]
    fees = base.fees[idx, :m, :]
    total = fees.sum(axis=2)
    last = total[:, -1]
    avg3 = total[:, -3:].mean(axis=1)
    prev3 = total[:, -6:-3].mean(axis=1) if m >= 6 else np.full(len(idx), np.nan)
    out: dict[str, object] = {
        "customer_id": base.customer_ids[idx],
        "status": np.where((base.terminated[idx] >= 0) & (base.terminated[idx] < m), "TERMINATED", "ACTIVE"),
        "industry": np.array(INDUSTRIES)[base.industry[idx]],
        "region": np.array(REGIONS)[base.region[idx]],
        "tier": np.array(TIERS)[base.tier[idx]],
        "tenure_months": (m - base.start[idx]).astype(float),
        "fee_total_last_month": last,
        "fee_total_avg_3m": avg3,
        "fee_total_3v3_pct": _pct(avg3, prev3),
        "fee_total_sum_12m": total[:, -12:].sum(axis=1),
    }
    for k, line in enumerate(LINES):
        lf = fees[:, :, k]
        a3 = lf[:, -3:].mean(axis=1)
        p3 = lf[:, -6:-3].mean(axis=1) if m >= 6 else np.full(len(idx), np.nan)
        out[f"fee_{line}_last_month"] = np.where(lf.sum(axis=1) > 0, lf[:, -1], np.nan)
        out[f"fee_{line}_3v3_pct"] = _pct(a3, p3)
    out["product_lines"] = (fees[:, -1, :] > 0).sum(axis=1).astype(float)
    out["complaints_90d"] = base.complaints[idx, max(0, m - 3) : m].sum(axis=1)
    out["fault_tickets_90d"] = base.faults[idx, max(0, m - 3) : m].sum(axis=1)
    out["visits_90d"] = base.visits[idx, max(0, m - 3) : m].sum(axis=1)
    sv = base.survey[idx, max(0, m - 12) : m]
    answered = (~np.isnan(sv)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["satisfaction_index"] = np.where(answered > 0, np.nansum(sv, axis=1) / answered, np.nan)
    out["days_overdue"] = base.overdue[idx, max(0, m - 3) : m].max(axis=1)
    out["competitor_active_approach"] = base.approach[idx, max(0, m - 3) : m].any(axis=1)
    comp = base.competitor_end[idx]
    out["competitor_contract_end_months"] = np.where(comp > -999, (comp - m).astype(float), np.nan)
    out["months_to_contract_end"] = (base.contract_end[idx] - m).astype(float)
    df = pd.DataFrame(out)
    df["as_of"] = base.cutoff(m)
    return df


def outcomes(base: SyntheticBase) -> Outcomes:
    """Label facts of the whole simulated period (monthly totals and terminations)."""
    total = base.fees.sum(axis=2)
    acc, mon = np.nonzero(total > 0)
    revenue = pd.DataFrame(
        {
            "customer_id": base.customer_ids[acc],
            "month": [base.month_name(int(x)) for x in mon]
            if len(mon) < 50_000
            else pd.Series(mon).map(base.month_name).to_numpy(),
            "total_fee_fen": total[acc, mon].astype(np.int64),
        }
    )
    gone = np.where(base.terminated >= 0)[0]
    # A termination happens mid-month; its bill for that month is already zero.
    lifecycle = pd.DataFrame(
        {
            "customer_id": base.customer_ids[gone],
            "occurred_at": [base.cutoff(int(base.terminated[i])) + pd.Timedelta(days=14) for i in gone],
            "terminated": np.ones(len(gone), dtype=bool),
        }
    )
    if lifecycle.empty:
        lifecycle = pd.DataFrame(
            {"customer_id": [], "occurred_at": pd.Series([], dtype="datetime64[ns, UTC]"), "terminated": []}
        )
    return Outcomes(revenue=revenue, lifecycle=lifecycle, data_end=base.cutoff(base.months))
