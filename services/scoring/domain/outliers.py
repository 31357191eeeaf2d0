"""Outlier and fraud signals: an isolation forest over billing, usage, payment and subscriptions, plus rules.

Input is the per-account feature frame scoring gets from profile's export, as columns
(feature name -> float array, NaN = missing, one entry per account). Two kinds of signal,
each able to flag an account on its own:

* **Isolation forest** (scikit-learn) over FOREST_FEATURES: changes (bills and usage against
  their own past, as the log of the ratio new/old), the recurring fee of held subscriptions
  against the recent bills, days overdue and unpaid, subscription and product-line counts
  (log1p), and a single size (the 6-month average bill, log1p). Levels of bills and usage
  are left out: with them the largest accounts would be the outliers. Each transformed
  column is robustly scaled by the base's median and IQR/1.349 (MAD x 1.4826, then the
  standard deviation, then 1 where the spread is zero); missing values are imputed with
  the base's median of the transformed column, as fitted. An account is flagged by the
  forest when it is among the `contamination` share most easily isolated at fit time
  (sklearn's `offset_`). Its reasons are the features furthest from the base (robust
  z-scores of the values it really has, imputed ones never), phrased in words.
* **Rules** the operator's practice names, with the thresholds below: a sudden usage
  surge, arrears while usage rises, many lines added at once.

Reasons (and their codes, in the same order) put the rules that fired first, in the order
above, then the forest's features by distance from the base. `to_bytes` pickles the state
(numpy arrays and the fitted forest): it is only ever loaded from scoring's own store.

`score` is the forest's anomaly score s = 2^(-E(h)/c(n)) rescaled over the fitted base
(0 at the base's least unusual account, 1 at its most unusual; clipped). Fitted on fewer
than MIN_FIT_ACCOUNTS accounts there is no forest: scores are 0 and only the rules flag.

What profile's features cannot show yet (so the rules use proxies): the number of lines
per product line and subscriptions added in a window (the lines burst is read from the
recurring fee of held subscriptions against the recent bills, and from subscriptions held
beyond the product lines billed), usage against its own 3-month average (only against the
month before), and written-off bills as such (they show as days overdue).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import IsolationForest

# -- features --------------------------------------------------------------------------

#: Usage lines whose usage varies month to month (minutes, GB, connections).
USAGE_LINES = ("voice", "mobile_data", "iot")
#: Taken as log1p(max(x, 0)): one size (so that size alone never isolates: levels of bills
#: and usage are left out, or the largest accounts would be the outliers), counts and days.
LOG_FEATURES = (
    "fee_total_avg_6m",
    "days_overdue",
    "days_since_last_payment",
    "active_products",
    "product_lines",
)
#: Percent changes, taken as log(1 + pct/100) (the ratio new/old), floored at a 99 % fall.
PCT_FEATURES = (
    "fee_total_vs_ref3_pct",
    "fee_total_mom_pct",
    "fee_total_3v3_pct",
    *(f"usage_{line}_mom_pct" for line in USAGE_LINES),
)
#: Taken as the log of the ratio to another feature: the recurring fee of held
#: subscriptions against the average bill of the 3 months before last.
RATIO_FEATURES: dict[str, str] = {"subscribed_monthly_fee_fen": "fee_total_ref3"}
#: Derived: the largest of some percent changes (a surge on any one usage line shows in one
#: column, which the forest's random splits find far more often than one of three). Reasons
#: name the line whose change it is.
MAX_FEATURES: dict[str, tuple[str, ...]] = {"usage_max_mom_pct": tuple(f"usage_{ln}_mom_pct" for ln in USAGE_LINES)}
FOREST_FEATURES: tuple[str, ...] = (*LOG_FEATURES, *PCT_FEATURES, *MAX_FEATURES, *RATIO_FEATURES)
#: Read by the rules (and as ratio denominators) only.
RULE_ONLY_FEATURES = ("fee_total_ref3", "fee_total_last_month", *(f"usage_{line}_last_month" for line in USAGE_LINES))

# -- the isolation forest --------------------------------------------------------------

N_ESTIMATORS = 100
MAX_SAMPLES = 256
#: Fewer accounts than this at fit: no forest (rules only, scores 0).
MIN_FIT_ACCOUNTS = 8
#: A forest flag names the features with |robust z| at least this, at most EXPLAIN_TOP of them
#: (the single furthest one when none is that far).
EXPLAIN_MIN_Z = 2.5
EXPLAIN_TOP = 3

# -- rules (thresholds) ----------------------------------------------------------------

#: Usage surge: a usage line's usage at least this percent above the month before (+200 % =
#: three times), with at least SURGE_MIN_USAGE last month (tiny bases double by chance) ...
SURGE_USAGE_PCT = 200.0
SURGE_MIN_USAGE = 20.0
#: ... or last month's total bill at least this percent above the account's own 3-month
#: average (+300 % = four times: an ICT project starting adds at most twice the usual bill),
#: that average being at least SURGE_MIN_REFERENCE_FEN.
SURGE_FEE_PCT = 300.0
SURGE_MIN_REFERENCE_FEN = 100_000.0
#: Arrears: a bill of the last 3 months overdue at least this many days (written-off bills
#: carry 90+), or no paid bill for at least ARREARS_MIN_DAYS_UNPAID days ...
ARREARS_MIN_DAYS_OVERDUE = 31.0
ARREARS_MIN_DAYS_UNPAID = 90.0
#: ... while usage rises: a usage line at least this percent above the month before, or the
#: total bill of the last 3 months this percent above the 3 before.
ARREARS_USAGE_RISE_PCT = 50.0
ARREARS_FEE_RISE_PCT = 25.0
#: Lines burst: the recurring fee of held subscriptions at least this many times the
#: average bill of the 3 months before last (lines just added), that average at least
#: SURGE_MIN_REFERENCE_FEN ...
LINES_BURST_FEE_RATIO = 3.5
#: ... or at least this many more subscriptions held than product lines billed last month.
LINES_BURST_EXTRA_PRODUCTS = 3.0

# -- words -----------------------------------------------------------------------------

_LINE_WORDS = {"voice": "voice", "mobile_data": "mobile-data", "iot": "IoT"}
_USAGE_UNITS = {"voice": "min", "mobile_data": "GB", "iot": "connections"}
_LABELS = {
    "fee_total_last_month": "last month's bill",
    "fee_total_avg_6m": "average monthly bill over 6 months",
    "fee_total_sum_12m": "12-month revenue",
    "days_overdue": "days overdue on recent bills",
    "days_since_last_payment": "days since the last paid bill",
    "active_products": "subscriptions held",
    "product_lines": "product lines billed",
    "subscribed_monthly_fee_fen": "recurring fee of held subscriptions against the recent monthly bill",
    "fee_total_mom_pct": "last month's bill against the month before",
    "fee_total_vs_ref3_pct": "last month's bill against its own 3-month average",
    "fee_total_3v3_pct": "bills of the last 3 months against the 3 before",
    **{f"usage_{k}_last_month": f"{w} usage last month" for k, w in _LINE_WORDS.items()},
    **{f"usage_{k}_mom_pct": f"{w} usage against the month before" for k, w in _LINE_WORDS.items()},
}

FOREST_CODE = "isolation_forest"
#: Input values are clipped to +-this (non-finite ones are missing).
MAX_MAGNITUDE = 1e18
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class OutlierFinding:
    """One account's assessment: score, whether flagged, and why (words and stable codes)."""

    customer_id: str
    #: 0-1, higher = more unusual (isolation-forest score rescaled over the base).
    score: float
    #: The forest or any rule fired.
    flagged: bool
    #: Words an account manager or fraud analyst understands, strongest first.
    reasons: tuple[str, ...]
    #: Stable machine codes, same order ("usage_surge", "isolation_forest:days_overdue", ...);
    #: a dismissal is remembered per set of codes.
    reason_codes: tuple[str, ...]


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def _qty(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"


def _display(name: str, value: float) -> str:
    """A feature value as a person reads it."""
    if name in PCT_FEATURES or name in MAX_FEATURES:
        return f"{value:+.0f}%"
    if name in RATIO_FEATURES:
        return f"{value:.1f} times"
    if name.startswith(("fee_", "subscribed_")):
        return _yuan(value)
    for line, unit in _USAGE_UNITS.items():
        if name == f"usage_{line}_last_month":
            return f"{_qty(value)} {unit}"
    return _qty(value)


def _column(columns: Mapping[str, np.ndarray], name: str, n: int) -> np.ndarray:
    """A feature column as float64 with non-finite values as NaN (absent: all NaN)."""
    raw = columns.get(name)
    if raw is None:
        return np.full(n, np.nan)
    col = np.asarray(raw, dtype=np.float64).reshape(-1)
    if len(col) != n:
        raise ValueError(f"column {name!r} has {len(col)} values for {n} accounts")
    # No real feature comes near 1e18 (fen, days, percent); clipping keeps arithmetic finite.
    return np.where(np.isfinite(col), np.clip(col, -MAX_MAGNITUDE, MAX_MAGNITUDE), np.nan)


def forest_values(columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """The forest's features as a person reads them (ratio features as the ratio), accounts x features."""
    out = np.full((n, len(FOREST_FEATURES)), np.nan)
    for j, name in enumerate(FOREST_FEATURES):
        if name in MAX_FEATURES:
            parts = np.vstack([_column(columns, f, n) for f in MAX_FEATURES[name]])
            has = np.isfinite(parts).any(axis=0)
            out[:, j] = np.where(has, np.max(np.where(np.isfinite(parts), parts, -np.inf), axis=0), np.nan)
            continue
        col = _column(columns, name, n)
        if name in RATIO_FEATURES:
            ref = _column(columns, RATIO_FEATURES[name], n)
            with np.errstate(all="ignore"):
                col = np.where(ref > 0, col / ref, np.nan)
        out[:, j] = col
    return out


def forest_transform(values: np.ndarray) -> np.ndarray:
    """log1p for levels, log of the ratio for percent changes and ratios."""
    out = np.empty_like(values)
    with np.errstate(all="ignore"):
        for j, name in enumerate(FOREST_FEATURES):
            col = values[:, j]
            if name in PCT_FEATURES or name in MAX_FEATURES:
                out[:, j] = np.log(np.maximum(1.0 + col / 100.0, 0.01))
            elif name in RATIO_FEATURES:
                out[:, j] = np.log(np.maximum(col, 0.01))
            else:
                out[:, j] = np.log1p(np.maximum(col, 0.0))
    return out


def _spread(values: np.ndarray) -> float:
    """Robust spread of the present values: IQR/1.349, MAD x 1.4826, std, else 1."""
    present = values[np.isfinite(values)]
    if len(present) < 2:
        return 1.0
    q1, med, q3 = np.percentile(present, [25, 50, 75])
    for s in ((q3 - q1) / 1.349, float(np.median(np.abs(present - med))) * 1.4826, float(np.std(present))):
        if s > 1e-9:
            return float(s)
    return 1.0


def _nan_median(values: np.ndarray) -> float:
    present = values[np.isfinite(values)]
    return float(np.median(present)) if len(present) else 0.0


def _source_of(j: int, raw: np.ndarray) -> int:
    """The column a reason names: a derived maximum's largest source, else the column itself."""
    sources = MAX_FEATURES.get(FOREST_FEATURES[j])
    if not sources:
        return j
    index = [FOREST_FEATURES.index(f) for f in sources]
    return max(index, key=lambda i: raw[i] if np.isfinite(raw[i]) else -np.inf)


class OutlierDetector:
    """Isolation forest plus rules, fitted on one base (see the module docstring)."""

    #: The profile features read (derived ones are computed from these).
    FEATURES: ClassVar[tuple[str, ...]] = tuple(
        dict.fromkeys(f for f in (*FOREST_FEATURES, *RULE_ONLY_FEATURES) if f not in MAX_FEATURES)
    )

    def __init__(
        self,
        medians: np.ndarray,
        scales: np.ndarray,
        raw_medians: np.ndarray,
        forest: IsolationForest | None,
        score_range: tuple[float, float],
    ) -> None:
        self._medians = medians
        self._scales = scales
        self._raw_medians = raw_medians
        self._forest = forest
        self._score_range = score_range

    # -- fitting and persistence --------------------------------------------------------

    @classmethod
    def fit(
        cls,
        customer_ids: Sequence[str],
        columns: Mapping[str, np.ndarray],
        *,
        seed: int = 0,
        contamination: float = 0.02,
    ) -> OutlierDetector:
        """Fit the scaling, imputation and forest on a base (deterministic for a seed)."""
        if not 0.0 < contamination <= 0.5:
            raise ValueError("contamination must be in (0, 0.5]")
        n = len(customer_ids)
        raw = forest_values(columns, n)
        t = forest_transform(raw)
        k = len(FOREST_FEATURES)
        medians = np.array([_nan_median(t[:, j]) for j in range(k)])
        scales = np.array([_spread(t[:, j]) for j in range(k)])
        raw_medians = np.array([_nan_median(raw[:, j]) for j in range(k)])
        forest: IsolationForest | None = None
        score_range = (0.0, 1.0)
        if n >= MIN_FIT_ACCOUNTS:
            z = cls._standardise(t, medians, scales)
            forest = IsolationForest(
                n_estimators=N_ESTIMATORS,
                max_samples=min(MAX_SAMPLES, n),
                contamination=contamination,
                random_state=seed,
                n_jobs=1,
            ).fit(z)
            s = -forest.score_samples(z)
            score_range = (float(s.min()), float(s.max()))
        return cls(medians, scales, raw_medians, forest, score_range)

    def to_bytes(self) -> bytes:
        """Pickled state. Only ever loaded from scoring's own store (pickle runs code on load)."""
        state = {
            "version": _FORMAT_VERSION,
            "features": FOREST_FEATURES,
            "medians": self._medians,
            "scales": self._scales,
            "raw_medians": self._raw_medians,
            "forest": self._forest,
            "score_range": self._score_range,
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> OutlierDetector:
        """Inverse of to_bytes; for bytes scoring's own store wrote, never a caller's."""
        state: dict[str, Any] = pickle.loads(data)  # noqa: S301 - only our own store's bytes
        if state.get("version") != _FORMAT_VERSION or tuple(state.get("features", ())) != FOREST_FEATURES:
            raise ValueError("the stored outlier detector was made by another version; refit it")
        return cls(state["medians"], state["scales"], state["raw_medians"], state["forest"], state["score_range"])

    # -- assessment --------------------------------------------------------------------

    @staticmethod
    def _standardise(t: np.ndarray, medians: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Robust z-scores with missing values at the median (z = 0)."""
        z = (t - medians) / scales
        return np.where(np.isfinite(z), z, 0.0)

    def assess(self, customer_ids: Sequence[str], columns: Mapping[str, np.ndarray]) -> list[OutlierFinding]:
        """A finding per account, in input order."""
        n = len(customer_ids)
        if n == 0:
            return []
        raw = forest_values(columns, n)
        t = forest_transform(raw)
        z = self._standardise(t, self._medians, self._scales)
        if self._forest is not None:
            s = -self._forest.score_samples(z)
            forest_flag = self._forest.decision_function(z) < 0
            lo, hi = self._score_range
            scores = np.clip((s - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros(n)
        else:
            forest_flag = np.zeros(n, dtype=bool)
            scores = np.zeros(n)
        rules = [rule(columns, n) for rule in (_usage_surge, _arrears_rising_usage, _lines_burst)]
        out = []
        for i, cid in enumerate(customer_ids):
            reasons: list[str] = []
            codes: list[str] = []
            for fired in rules:
                hit = fired[i]
                if hit is not None:
                    codes.append(hit[0])
                    reasons.append(hit[1])
            if forest_flag[i]:
                for code, words in self._explain(raw[i], z[i]):
                    codes.append(code)
                    reasons.append(words)
            out.append(OutlierFinding(str(cid), float(scores[i]), bool(codes), tuple(reasons), tuple(codes)))
        return out

    def _explain(self, raw: np.ndarray, z: np.ndarray) -> list[tuple[str, str]]:
        """The forest's reasons: features furthest from the base, in words."""
        present = np.isfinite(raw)
        order = [j for j in np.argsort(-np.abs(z), kind="stable") if present[j] and abs(z[j]) > 0]
        chosen = [j for j in order[:EXPLAIN_TOP] if abs(z[j]) >= EXPLAIN_MIN_Z] or order[:1]
        if not chosen:
            return [(f"{FOREST_CODE}:combination", "an unusual combination of billing, usage and payment behaviour")]
        out: dict[str, str] = {}
        for j in chosen:
            side = "far above" if z[j] > 0 else "far below"
            k = _source_of(j, raw)
            name = FOREST_FEATURES[k]
            typical = _display(name, float(self._raw_medians[k]))
            words = f"{_LABELS[name]} {side} the base: {_display(name, float(raw[j]))} (typical {typical})"
            out.setdefault(f"{FOREST_CODE}:{name}", words)
        return list(out.items())


Fired = list[tuple[str, str] | None]


def _usage_surge(columns: Mapping[str, np.ndarray], n: int) -> Fired:
    """Usage many times the month before, or the bill many times the own 3-month average."""
    out: Fired = [None] * n
    last, ref = _column(columns, "fee_total_last_month", n), _column(columns, "fee_total_ref3", n)
    pct = _column(columns, "fee_total_vs_ref3_pct", n)
    usage = {
        ln: (_column(columns, f"usage_{ln}_mom_pct", n), _column(columns, f"usage_{ln}_last_month", n))
        for ln in USAGE_LINES
    }
    for i in range(n):
        parts = []
        for line, (mom, level) in usage.items():
            if mom[i] >= SURGE_USAGE_PCT and level[i] >= SURGE_MIN_USAGE:
                now = _display(f"usage_{line}_last_month", level[i])
                parts.append(f"{_LINE_WORDS[line]} usage {1 + mom[i] / 100:.1f} times the month before ({now})")
        if pct[i] >= SURGE_FEE_PCT and ref[i] >= SURGE_MIN_REFERENCE_FEN:
            times = 1 + pct[i] / 100
            parts.append(
                f"last month's bill {_yuan(last[i])} is {times:.1f} times its own 3-month average {_yuan(ref[i])}"
            )
        if parts:
            out[i] = ("usage_surge", "sudden usage surge: " + "; ".join(parts))
    return out


def _arrears_rising_usage(columns: Mapping[str, np.ndarray], n: int) -> Fired:
    """Bills overdue (or none paid for long) while usage or the bill rises."""
    out: Fired = [None] * n
    overdue, unpaid = _column(columns, "days_overdue", n), _column(columns, "days_since_last_payment", n)
    fee_rise = _column(columns, "fee_total_3v3_pct", n)
    usage = {ln: _column(columns, f"usage_{ln}_mom_pct", n) for ln in USAGE_LINES}
    for i in range(n):
        if overdue[i] >= ARREARS_MIN_DAYS_OVERDUE:
            arrears = f"bills overdue {overdue[i]:.0f} days"
        elif unpaid[i] >= ARREARS_MIN_DAYS_UNPAID:
            arrears = f"no bill paid for {unpaid[i]:.0f} days"
        else:
            continue
        rises = [
            f"{_LINE_WORDS[ln]} usage {mom[i]:+.0f}% on the month before"
            for ln, mom in usage.items()
            if mom[i] >= ARREARS_USAGE_RISE_PCT
        ]
        if fee_rise[i] >= ARREARS_FEE_RISE_PCT:
            rises.append(f"bills of the last 3 months {fee_rise[i]:+.0f}% on the 3 before")
        if rises:
            out[i] = ("arrears_rising_usage", f"arrears while usage rises: {arrears}, {'; '.join(rises)}")
    return out


def _lines_burst(columns: Mapping[str, np.ndarray], n: int) -> Fired:
    """Recurring fees of held subscriptions far above the recent bills, or many unbilled subscriptions."""
    out: Fired = [None] * n
    subscribed, ref = _column(columns, "subscribed_monthly_fee_fen", n), _column(columns, "fee_total_ref3", n)
    held, billed = _column(columns, "active_products", n), _column(columns, "product_lines", n)
    for i in range(n):
        parts = []
        if ref[i] >= SURGE_MIN_REFERENCE_FEN and subscribed[i] >= LINES_BURST_FEE_RATIO * ref[i]:
            times = subscribed[i] / ref[i]
            parts.append(
                f"held subscriptions cost {_yuan(subscribed[i])} a month, "
                f"{times:.1f} times the recent monthly bill {_yuan(ref[i])}"
            )
        if held[i] - billed[i] >= LINES_BURST_EXTRA_PRODUCTS:
            parts.append(f"{held[i]:.0f} subscriptions held but only {billed[i]:.0f} product lines billed")
        if parts:
            out[i] = ("lines_burst", "many lines added at once: " + "; ".join(parts))
    return out
