"""Scoring rows with the champions: probabilities, bands, values, tiers and reasons.

The hot path: features are encoded once per model into a float matrix (cached column
order); with reasons, one contributions call per model and batch gives both the reasons
and the score (contributions sum to the raw score, so no separate predict); without
reasons, one predict call. Reasons are chosen for the whole batch with numpy and only
the chosen k per row are phrased. Per-account results are assembled last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .analytics import AccountAnalytics
from .bands import BANDS, TIERS, risk_band_codes, value_tier_codes
from .contributions import PATH
from .params import CHURN
from .reasons import Reason, phrase_rows
from .registry import ChampionSet, ServingModel
from .schema import ColumnBatch, FeatureSchema

OK = "OK"
NOT_FOUND = "NOT_FOUND"
TERMINATED = "TERMINATED"
MAX_REASONS = 10


@dataclass
class AccountResult:
    """The scores of one account (or one caller-supplied row)."""

    customer_id: str
    status: str = OK
    error: str = ""
    churn_probability: float | None = None
    risk_band: str = ""
    predicted_value_fen: int | None = None
    value_tier: str = ""
    churn_reasons: list[Reason] = field(default_factory=list)
    value_reasons: list[Reason] = field(default_factory=list)
    churn_model_id: str = ""
    value_model_id: str = ""
    scored_at: dt.datetime | None = None
    features_as_of: dt.datetime | None = None
    #: Base analytics against the latest run (issue #19), when there is one.
    analytics: AccountAnalytics | None = None


@dataclass(frozen=True)
class ModelScores:
    """One model's predictions over a batch."""

    scores: np.ndarray
    labels: list[str]
    reasons: list[list[Reason]]
    ignored: set[str]


def score_matrix(model: ServingModel, X: np.ndarray, top_k: int, method: str = PATH) -> ModelScores:
    """Predict an encoded matrix with one model (and explain it when asked)."""
    trained = model.model
    churn = trained.kind == CHURN
    k = min(max(top_k, 0), MAX_REASONS)
    if k and len(X):
        contrib = trained.contributions(X, method)
        scores = trained.probability(contrib.sum(axis=1))
        reasons = phrase_rows(contrib, X, trained.schema, k, churn)
    else:
        scores = trained.predict(X)
        reasons = [[] for _ in range(len(X))]
    if churn:
        labels = [BANDS[i] for i in risk_band_codes(scores, trained.risk)]
    else:
        scores = np.maximum(scores, 0.0)
        labels = [TIERS[i] for i in value_tier_codes(scores, trained.value_boundaries)]
    return ModelScores(scores, labels, reasons, set())


def score_with(model: ServingModel, rows: Sequence[Mapping[str, Any]], top_k: int, method: str = PATH) -> ModelScores:
    """Predict a batch of feature dicts with one model (names it does not use are listed)."""
    X, ignored = model.model.schema.encode_rows(rows)
    result = score_matrix(model, X, top_k, method)
    return ModelScores(result.scores, result.labels, result.reasons, ignored)


def score_columns(model: ServingModel, batch: ColumnBatch, top_k: int, method: str = PATH) -> ModelScores:
    """Predict a batch of caller-supplied columns with one model (unused names are listed)."""
    X, ignored = model.model.schema.encode_columns(batch)
    result = score_matrix(model, X, top_k, method)
    return ModelScores(result.scores, result.labels, result.reasons, ignored)


def _encoded(
    schema: FeatureSchema, rows: list[Mapping[str, Any]], done: list[tuple[FeatureSchema, np.ndarray]]
) -> np.ndarray:
    """Rows encoded for a schema, reusing the matrix of an equal schema (churn and value
    champions trained on the same profile export share one)."""
    for seen, X in done:
        if seen is schema or seen.features == schema.features:
            return X
    X, _ = schema.encode_rows(rows)
    done.append((schema, X))
    return X


def score_accounts(
    champions: ChampionSet,
    customer_ids: Sequence[str],
    rows: Mapping[str, Mapping[str, Any]],
    not_found: set[str],
    terminated: set[str],
    top_k: int,
    churn_only: bool,
    now: dt.datetime,
    features_as_of: dt.datetime,
    method: str = PATH,
) -> list[AccountResult]:
    """Results in request order; unknown and terminated accounts answered per account."""
    scorable = list(dict.fromkeys(c for c in customer_ids if c in rows and c not in terminated))
    feature_rows = [rows[c] for c in scorable]
    churn, value = champions.churn, None if churn_only else champions.value
    churn_scores = value_scores = None
    if scorable:
        encoded: list[tuple[FeatureSchema, np.ndarray]] = []
        if churn:
            churn_scores = score_matrix(churn, _encoded(churn.model.schema, feature_rows, encoded), top_k, method)
        if value:
            value_scores = score_matrix(value, _encoded(value.model.schema, feature_rows, encoded), top_k, method)
    position = {c: i for i, c in enumerate(scorable)}
    out: list[AccountResult] = []
    for cid in customer_ids:
        if cid in not_found or (cid not in rows and cid not in terminated):
            out.append(AccountResult(cid, NOT_FOUND, f"customer '{cid}' not found"))
            continue
        if cid in terminated:
            out.append(AccountResult(cid, TERMINATED, f"customer '{cid}' has terminated"))
            continue
        i = position[cid]
        r = AccountResult(cid, OK, scored_at=now, features_as_of=features_as_of)
        if churn_scores is not None and churn is not None:
            r.churn_probability = float(churn_scores.scores[i])
            r.risk_band = churn_scores.labels[i]
            r.churn_reasons = churn_scores.reasons[i]
            r.churn_model_id = churn.model_id
        if value_scores is not None and value is not None:
            r.predicted_value_fen = int(round(float(value_scores.scores[i])))
            r.value_tier = value_scores.labels[i]
            r.value_reasons = value_scores.reasons[i]
            r.value_model_id = value.model_id
        out.append(r)
    return out


def table_columns(frame: Any, id_column: str, exclude: Sequence[str]) -> tuple[list[str], ColumnBatch]:
    """A brought table (a pandas frame, as domain.table.read_table reads it) as (row ids,
    ColumnBatch): the id column gives the ids and is no feature, excluded columns are
    dropped, numbers and booleans become float64 columns (NaN = missing) and every other
    column categories ("" = missing), as the table's training reads them."""
    ids = [] if not id_column else ["" if pd.isna(v) else str(v) for v in frame[id_column].tolist()]
    columns: list[tuple[str, np.ndarray | Sequence[str]]] = []
    for name in frame.columns:
        if name == id_column or name in exclude:
            continue
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            columns.append((str(name), col.astype(np.float64).to_numpy()))
        else:
            columns.append((str(name), ["" if pd.isna(v) else str(v) for v in col.tolist()]))
    return ids or [""] * len(frame), ColumnBatch(len(frame), columns)
