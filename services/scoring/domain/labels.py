"""Point-in-time training sets: features as of a cut-off joined with labels after it.

For a cut-off `as_of` and a horizon of h months the label window is the h calendar months
that start at or after `as_of` (as_of = 2025-06-01 and h = 3 -> June, July, August 2025),
and terminations in (as_of, as_of + h months]. Churn: the account terminated in the window,
or its total fee in the window's last month is zero while it was billed in the month before
`as_of`. Value: the account's total fee over the window's months, or with the value target
"margin" its fee minus its cost over them (`margin_targets`). Accounts already gone at
`as_of` are excluded. Features must have been computed as of exactly this cut-off.

Missing cost is not zero cost: a margin label needs every window month in which the account
was billed to have a cost record; an account with a billed but uncosted month has no margin
label and is left out of a margin training set (a month costed without a fee counts with
fee 0). A margin target without any cost facts fails (FAILED_PRECONDITION) instead of
training on revenue under another name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from .params import CHURN, MARGIN, REVENUE, VALUE, VALUE_TARGETS

# Profile also exports scoring's own latest outputs as features; a model must never learn
# from them (they would feed old scores back and leak the labels of earlier batches).
# The same holds for the value analytics published with the scores (lifetime value is built
# from the churn and value predictions; RFM, clusters and outliers from the whole base now).
FEEDBACK_FEATURES = (
    "churn_probability",
    "risk_band",
    "predicted_value_fen",
    "clv_fen",
    "clv_tier",
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "outlier_flagged",
    "outlier_score",
)


def utc(ts: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """An aware UTC pandas Timestamp from a datetime, Timestamp or ISO string."""
    t = pd.Timestamp(ts)
    return t.tz_localize(UTC) if t.tzinfo is None else t.tz_convert(UTC)


def month_str(ts: pd.Timestamp) -> str:
    """'YYYY-MM' of a timestamp."""
    return f"{ts.year:04d}-{ts.month:02d}"


def add_months(month: str, n: int) -> str:
    """Month string n months after (or before, when negative) `month`."""
    y, m = int(month[:4]), int(month[5:7])
    idx = y * 12 + (m - 1) + n
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def window_months(as_of: pd.Timestamp, horizon: int) -> list[str]:
    """The h calendar months of the label window of a cut-off."""
    first = month_str(as_of)
    on_boundary = as_of.day == 1 and as_of.hour == 0 and as_of.minute == 0 and as_of.second == 0
    start = first if on_boundary else add_months(first, 1)
    return [add_months(start, k) for k in range(horizon)]


def window_end(as_of: pd.Timestamp, horizon: int) -> pd.Timestamp:
    """End of the label window: the first instant after its last month."""
    last = window_months(as_of, horizon)[-1]
    return utc(f"{add_months(last, 1)}-01")


@dataclass(frozen=True)
class Outcomes:
    """Label facts (from profile's ExportOutcomes, or a generator's ground truth).

    revenue: customer_id, month ('YYYY-MM'), total_fee_fen — months without a bill absent.
    lifecycle: customer_id, occurred_at (UTC), terminated (True = terminated, False =
    reactivated).
    data_end: first instant for which facts are not complete (labels must end before it).
    costs: customer_id, month, total_cost_fen — months with a cost record only (None: the
    source has no cost facts).
    """

    revenue: pd.DataFrame
    lifecycle: pd.DataFrame
    data_end: pd.Timestamp | None = None
    costs: pd.DataFrame | None = None

    def status_terminated_at(self, as_of: pd.Timestamp) -> set[str]:
        """Accounts whose latest lifecycle change at or before as_of is a termination."""
        lc = self.lifecycle
        if lc.empty:
            return set()
        before = lc[lc["occurred_at"] <= as_of].sort_values("occurred_at")
        last = before.groupby("customer_id")["terminated"].last()
        return set(last[last].index)


def _check_features_as_of(features: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """Features must be the snapshot of this cut-off (the leakage guard)."""
    if "customer_id" not in features.columns:
        raise InvalidArgument(FieldViolation("features", "feature frame has no customer_id column", "MISSING_COLUMN"))
    if "as_of" in features.columns and len(features):
        stamps = pd.to_datetime(features["as_of"], utc=True)
        if (stamps != as_of).any():
            later = stamps.max()
            raise FailedPrecondition(
                f"features were computed as of {later.isoformat()}, not the cut-off {as_of.isoformat()}"
            )


def churn_labels(outcomes: Outcomes, ids: pd.Index, as_of: pd.Timestamp, horizon: int) -> pd.Series:
    """1 for accounts that churn in the window after as_of, 0 otherwise."""
    months = window_months(as_of, horizon)
    end = window_end(as_of, horizon)
    lc = outcomes.lifecycle
    terminated: set[str] = set()
    if not lc.empty:
        inside = lc[(lc["occurred_at"] > as_of) & (lc["occurred_at"] <= end) & lc["terminated"]]
        terminated = set(inside["customer_id"])
    rev = outcomes.revenue
    prev_month = add_months(months[0], -1)
    billed_before = set(rev.loc[(rev["month"] == prev_month) & (rev["total_fee_fen"] > 0), "customer_id"])
    billed_last = set(rev.loc[(rev["month"] == months[-1]) & (rev["total_fee_fen"] > 0), "customer_id"])
    fee_zero = billed_before - billed_last
    labels = [1 if (cid in terminated or cid in fee_zero) else 0 for cid in ids]
    return pd.Series(labels, index=ids, dtype=np.int64)


def value_targets(outcomes: Outcomes, ids: pd.Index, as_of: pd.Timestamp, horizon: int) -> pd.Series:
    """Each account's total fee (fen) over the window's months."""
    months = set(window_months(as_of, horizon))
    rev = outcomes.revenue
    sums = rev[rev["month"].isin(months)].groupby("customer_id")["total_fee_fen"].sum()
    return sums.reindex(ids).fillna(0).astype(np.float64)


def margin_targets(outcomes: Outcomes, ids: pd.Index, as_of: pd.Timestamp, horizon: int) -> pd.Series:
    """Each account's fee minus cost (fen) over the window's months; NaN where a billed month has no cost record."""
    months = set(window_months(as_of, horizon))
    if outcomes.costs is None or outcomes.costs.empty:
        raise FailedPrecondition(
            "the margin target needs cost facts, and profile exported none: ingest cost records first "
            "or train on value_target revenue"
        )
    rev = outcomes.revenue[outcomes.revenue["month"].isin(months)]
    cost = outcomes.costs[outcomes.costs["month"].isin(months)]
    fee = rev.groupby("customer_id")["total_fee_fen"].sum().reindex(ids).fillna(0).astype(np.float64)
    spent = cost.groupby("customer_id")["total_cost_fen"].sum().reindex(ids).fillna(0).astype(np.float64)
    billed = rev.loc[rev["total_fee_fen"] > 0, ["customer_id", "month"]]
    costed = set(zip(cost["customer_id"], cost["month"], strict=True))
    uncosted = {
        cid for cid, month in zip(billed["customer_id"], billed["month"], strict=True) if (cid, month) not in costed
    }
    margin = fee - spent
    return margin.where(~margin.index.isin(list(uncosted)), np.nan)


def build_training_set(
    features: pd.DataFrame,
    outcomes: Outcomes,
    as_of: datetime | pd.Timestamp | str,
    horizon: int,
    kind: str = CHURN,
    value_target: str = REVENUE,
) -> pd.DataFrame:
    """One row per account active at as_of: its features as of as_of and its label.

    `value_target` (value models): "revenue" or "margin"; a margin set leaves out the
    accounts whose margin is unknown (a billed month without cost). Raises
    FailedPrecondition when the label window reaches past the data known
    (outcomes.data_end) or the features are not the snapshot of this cut-off.
    """
    if value_target not in VALUE_TARGETS:
        raise InvalidArgument(
            FieldViolation("parameters[value_target]", f"unknown target {value_target!r}", "INVALID_VALUE")
        )
    cut = utc(as_of)
    if horizon < 1:
        raise InvalidArgument(FieldViolation("horizon_months", "must be at least 1", "OUT_OF_RANGE"))
    end = window_end(cut, horizon)
    if outcomes.data_end is not None and end > outcomes.data_end:
        raise FailedPrecondition(
            f"label window of cut-off {cut.date()} ends {end.date()}, after the last complete data "
            f"({outcomes.data_end.date()}); choose an earlier cut-off or a shorter horizon"
        )
    _check_features_as_of(features, cut)
    df = features.copy()
    if "status" in df.columns:
        df = df[df["status"].astype(str).str.lower() != "terminated"]
    gone = outcomes.status_terminated_at(cut)
    df = df[~df["customer_id"].isin(gone)]
    df = df.drop_duplicates("customer_id", keep="last").reset_index(drop=True)
    ids = pd.Index(df["customer_id"])
    if kind == CHURN:
        label = churn_labels(outcomes, ids, cut, horizon)
    elif kind == VALUE and value_target == MARGIN:
        label = margin_targets(outcomes, ids, cut, horizon)
    elif kind == VALUE:
        label = value_targets(outcomes, ids, cut, horizon)
    else:
        raise InvalidArgument(FieldViolation("kind", f"unknown model kind {kind!r}", "INVALID_VALUE"))
    df["as_of"] = cut
    df["label"] = label.to_numpy()
    if kind == VALUE and value_target == MARGIN:
        df = df[df["label"].notna()].reset_index(drop=True)
    return df.drop(columns=[c for c in ("status", "terminated_at", *FEEDBACK_FEATURES) if c in df.columns])


def stack_training_sets(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack the per-cut-off sets into one frame (categorical columns stay strings)."""
    if not frames:
        return pd.DataFrame(columns=["customer_id", "as_of", "label"])
    return pd.concat(frames, ignore_index=True, sort=False)
