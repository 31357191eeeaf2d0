"""Protobuf <-> domain and use-case types for the scoring service (api layer)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import numpy as np
import pandas as pd

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.timeconv import from_timestamp, is_set, to_timestamp

from ..domain.params import CHURN, VALUE
from ..domain.reasons import Reason
from ..domain.records import StoredScore
from ..domain.registry import ALWAYS, IF_BETTER, NEVER, ModelRecord
from ..domain.schema import ColumnBatch
from ..domain.scoring import NOT_FOUND, OK, TERMINATED, AccountResult
from ..domain.table import CSV, PARQUET
from ..usecases.score import FeatureScores
from ..usecases.train import TableRequest, TrainRequest
from .analytics_converters import value_analytics_pb

KIND_FROM_PB = {pb.MODEL_KIND_CHURN: CHURN, pb.MODEL_KIND_VALUE: VALUE}
KIND_TO_PB = {CHURN: pb.MODEL_KIND_CHURN, VALUE: pb.MODEL_KIND_VALUE}
RULE_FROM_PB = {
    pb.AUTO_PROMOTE_UNSPECIFIED: NEVER,
    pb.AUTO_PROMOTE_NEVER: NEVER,
    pb.AUTO_PROMOTE_IF_BETTER: IF_BETTER,
    pb.AUTO_PROMOTE_ALWAYS: ALWAYS,
}
STATUS_TO_PB = {
    "TRAINING": pb.MODEL_STATUS_TRAINING,
    "READY": pb.MODEL_STATUS_READY,
    "CHAMPION": pb.MODEL_STATUS_CHAMPION,
    "RETIRED": pb.MODEL_STATUS_RETIRED,
    "FAILED": pb.MODEL_STATUS_FAILED,
}
BAND_TO_PB = {
    "": common_pb2.RISK_BAND_UNSPECIFIED,
    "LOW": common_pb2.RISK_BAND_LOW,
    "MEDIUM": common_pb2.RISK_BAND_MEDIUM,
    "HIGH": common_pb2.RISK_BAND_HIGH,
}
TIER_TO_PB: dict[str, common_pb2.AccountTier] = {
    "": common_pb2.ACCOUNT_TIER_UNSPECIFIED,
    **{
        t: cast(common_pb2.AccountTier, common_pb2.AccountTier.Value(f"ACCOUNT_TIER_{t}"))
        for t in ("DIAMOND", "EMERALD", "PLATINUM", "SAPPHIRE", "GOLD", "CRYSTAL")
    },
}
SCORE_STATUS_TO_PB = {
    OK: pb.SCORE_STATUS_OK,
    NOT_FOUND: pb.SCORE_STATUS_NOT_FOUND,
    TERMINATED: pb.SCORE_STATUS_TERMINATED,
}
FEATURE_TYPE_TO_PB = {
    "numeric": pb.FEATURE_TYPE_NUMERIC,
    "categorical": pb.FEATURE_TYPE_CATEGORICAL,
    "boolean": pb.FEATURE_TYPE_BOOLEAN,
}
FORMAT_FROM_PB = {pb.TABLE_FORMAT_UNSPECIFIED: "", pb.TABLE_FORMAT_CSV: CSV, pb.TABLE_FORMAT_PARQUET: PARQUET}


def _ts(value: Any) -> pd.Timestamp:
    return pd.Timestamp(from_timestamp(value))


def train_request(r: pb.TrainModelRequest) -> TrainRequest:
    """TrainModelRequest -> TrainRequest."""
    return TrainRequest(
        kind=KIND_FROM_PB.get(r.kind, ""),
        as_of=[_ts(t) for t in r.as_of],
        horizon_months=r.horizon_months,
        holdout_as_of=_ts(r.holdout_as_of) if is_set(r.holdout_as_of) else None,
        parameters=dict(r.parameters),
        auto_promote=RULE_FROM_PB.get(r.auto_promote, NEVER),
        min_gain=r.auto_promote_min_gain,
        description=r.description,
    )


def table_request(r: pb.TrainFromTableRequest) -> TableRequest:
    """TrainFromTableRequest -> TableRequest."""
    which = r.WhichOneof("table")
    return TableRequest(
        content=r.content if which == "content" else b"",
        path=r.path if which == "path" else "",
        format=FORMAT_FROM_PB.get(r.format, ""),
        id_column=r.id_column,
        label_column=r.label_column,
        kind=KIND_FROM_PB.get(r.kind, CHURN) if r.kind else CHURN,
        time_column=r.time_column,
        holdout_fraction=r.holdout_fraction,
        exclude_columns=tuple(r.exclude_columns),
        parameters=dict(r.parameters),
        auto_promote=RULE_FROM_PB.get(r.auto_promote, NEVER),
        min_gain=r.auto_promote_min_gain,
        description=r.description,
    )


def _has_baseline(m: dict[str, Any], primary: str) -> bool:
    """Whether the stored metrics hold a computed baseline (versions stored before the flag:
    a brought table's baseline was 0)."""
    return bool(m.get("baseline_computed", bool(m.get(primary))))


def _churn_metrics(m: dict[str, Any]) -> pb.ChurnMetrics:
    metrics = pb.ChurnMetrics(
        roc_auc=m.get("roc_auc", 0.0),
        pr_auc=m.get("pr_auc", 0.0),
        log_loss=m.get("log_loss", 0.0),
        brier=m.get("brier", 0.0),
        lift_top10=m.get("lift_top10", 0.0),
        capture_top10=m.get("capture_top10", 0.0),
        base_rate=m.get("base_rate", 0.0),
        calibration=[pb.CalibrationBin(**b) for b in m.get("calibration", [])],
        band_medium_threshold=m.get("band_medium_threshold", 0.0),
        band_high_threshold=m.get("band_high_threshold", 0.0),
        bands=[
            pb.RiskBandStats(
                band=BAND_TO_PB.get(b["band"], common_pb2.RISK_BAND_UNSPECIFIED),
                lower=b["lower"],
                upper=b["upper"],
                accounts=b["accounts"],
                account_share=b["account_share"],
                churn_rate=b["churn_rate"],
                churner_share=b["churner_share"],
            )
            for b in m.get("bands", [])
        ],
    )
    if _has_baseline(m, "baseline_roc_auc"):
        metrics.baseline_roc_auc = m.get("baseline_roc_auc", 0.0)
        metrics.baseline_lift_top10 = m.get("baseline_lift_top10", 0.0)
    return metrics


def _value_metrics(m: dict[str, Any]) -> pb.ValueMetrics:
    baseline = _has_baseline(m, "baseline_spearman")
    return pb.ValueMetrics(
        **{
            k: float(v)
            for k, v in m.items()
            if k in pb.ValueMetrics.DESCRIPTOR.fields_by_name and (baseline or not k.startswith("baseline_"))
        }
    )


def _lineage(d: dict[str, Any]) -> pb.Lineage:
    source = {"profile": pb.DATA_SOURCE_PROFILE, "table": pb.DATA_SOURCE_TABLE}.get(
        d.get("source", ""), pb.DATA_SOURCE_UNSPECIFIED
    )
    out = pb.Lineage(
        source=source,
        horizon_months=int(d.get("horizon_months", 0) or 0),
        train_rows=int(d.get("train_rows", 0)),
        validation_rows=int(d.get("validation_rows", 0)),
        holdout_rows=int(d.get("holdout_rows", 0)),
        accounts=int(d.get("accounts", 0)),
        positives=int(d.get("positives", 0)),
        parameters={k: str(v) for k, v in d.get("parameters", {}).items()},
        best_iteration=int(d.get("best_iteration", 0)),
        training_seconds=float(d.get("training_seconds", 0.0)),
        data_seconds=float(d.get("data_seconds", 0.0)),
        trained_on=str(d.get("trained_on", "")),
        data_fingerprint=str(d.get("data_fingerprint", "")),
        table_path=str(d.get("table_path", "")),
        id_column=str(d.get("id_column", "")),
        label_column=str(d.get("label_column", "")),
        lightgbm_version=str(d.get("lightgbm_version", "")),
    )
    out.as_of.extend(to_timestamp(pd.Timestamp(t).to_pydatetime()) for t in d.get("as_of", []))
    for key, field in (
        ("holdout_as_of", out.holdout_as_of),
        ("window_start", out.window_start),
        ("window_end", out.window_end),
    ):
        if d.get(key):
            t = pd.Timestamp(d[key])
            field.CopyFrom(to_timestamp((t if t.tzinfo else t.tz_localize("UTC")).to_pydatetime()))
    return out


def model_to_pb(r: ModelRecord, with_importance: bool = True) -> pb.Model:
    """ModelRecord -> Model."""
    gain = r.importance.get("gain", {}) if with_importance else {}
    split = r.importance.get("split", {}) if with_importance else {}
    m = pb.Model(
        model_id=r.model_id,
        kind=KIND_TO_PB.get(r.kind, pb.MODEL_KIND_UNSPECIFIED),
        version=r.version,
        status=STATUS_TO_PB.get(r.status, pb.MODEL_STATUS_UNSPECIFIED),
        description=r.description,
        created_at=to_timestamp(r.created_at),
        job_id=r.job_id,
        promotion_note=r.promotion_note,
        features=[
            pb.FeatureInfo(
                name=f["name"],
                type=FEATURE_TYPE_TO_PB.get(f["type"], pb.FEATURE_TYPE_UNSPECIFIED),
                categories=f.get("categories", []),
                importance_gain=float(gain.get(f["name"], 0.0)),
                importance_split=int(split.get(f["name"], 0)),
                missing_share=float(f.get("missing_share", 0.0)),
            )
            for f in r.features
        ],
        lineage=_lineage(r.lineage),
    )
    if r.promoted_at:
        m.promoted_at.CopyFrom(to_timestamp(r.promoted_at))
    if r.kind == CHURN:
        m.churn_metrics.CopyFrom(_churn_metrics(r.metrics))
    else:
        m.value_metrics.CopyFrom(_value_metrics(r.metrics))
    return m


def reason_to_pb(r: Reason) -> pb.Reason:
    """Reason -> Reason message."""
    return pb.Reason(feature=r.feature, phrase=r.phrase, contribution=r.contribution, value=r.value)


def account_to_pb(r: AccountResult) -> pb.AccountScore:
    """AccountResult -> AccountScore."""
    out = pb.AccountScore(
        customer_id=r.customer_id,
        status=SCORE_STATUS_TO_PB[r.status],
        error_message=r.error,
        churn_probability=r.churn_probability or 0.0,
        risk_band=BAND_TO_PB.get(r.risk_band, common_pb2.RISK_BAND_UNSPECIFIED),
        predicted_value_fen=r.predicted_value_fen or 0,
        value_tier=TIER_TO_PB.get(r.value_tier, common_pb2.ACCOUNT_TIER_UNSPECIFIED),
        churn_reasons=[reason_to_pb(x) for x in r.churn_reasons],
        value_reasons=[reason_to_pb(x) for x in r.value_reasons],
        churn_model_id=r.churn_model_id,
        value_model_id=r.value_model_id,
    )
    if r.scored_at:
        out.scored_at.CopyFrom(to_timestamp(r.scored_at))
    if r.features_as_of:
        out.features_as_of.CopyFrom(to_timestamp(r.features_as_of))
    analytics = value_analytics_pb(r.analytics)
    if analytics is not None:
        out.analytics.CopyFrom(analytics)
    return out


def stored_to_pb(s: StoredScore) -> pb.AccountScore:
    """StoredScore -> AccountScore."""
    return pb.AccountScore(
        customer_id=s.customer_id,
        status=pb.SCORE_STATUS_OK,
        churn_probability=s.churn_probability or 0.0,
        risk_band=BAND_TO_PB.get(s.risk_band, common_pb2.RISK_BAND_UNSPECIFIED),
        predicted_value_fen=s.predicted_value_fen or 0,
        value_tier=TIER_TO_PB.get(s.value_tier, common_pb2.ACCOUNT_TIER_UNSPECIFIED),
        churn_reasons=[
            pb.Reason(
                feature=x["feature"], phrase=x["phrase"], contribution=x["contribution"], value=x.get("value", "")
            )
            for x in s.reasons
        ],
        churn_model_id=s.churn_model_id,
        value_model_id=s.value_model_id,
        scored_at=to_timestamp(s.scored_at),
        features_as_of=to_timestamp(s.features_as_of),
        analytics=value_analytics_pb(s.analytics),
    )


def attribute_value(v: common_pb2.AttributeValue) -> Any:
    """AttributeValue -> Python value (None when unset)."""
    kind = v.WhichOneof("kind")
    return None if kind is None else getattr(v, kind)


def feature_rows(rows: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """FeatureRow messages -> (row ids, feature dicts)."""
    ids, dicts = [], []
    for row in rows:
        ids.append(row.row_id)
        dicts.append({k: attribute_value(v) for k, v in row.features.items()})
    return ids, dicts


def feature_columns(request: pb.ScoreFeaturesRequest) -> tuple[list[str], ColumnBatch | None]:
    """The request's FeatureColumns as (row ids, ColumnBatch); None when it sent rows.

    Raw float64 bytes are viewed by numpy without a per-value step; ragged columns or
    row ids answer INVALID_ARGUMENT naming the column.
    """
    if not request.HasField("columns"):
        return [], None
    cols = request.columns
    decoded: list[tuple[str, Any]] = []
    bad: list[FieldViolation] = []
    for i, c in enumerate(cols.columns):
        if c.raw_numbers:
            if len(c.raw_numbers) % 8:
                bad.append(
                    FieldViolation(f"columns.columns[{i}].raw_numbers", "must hold 8 bytes per row", "INVALID_LENGTH")
                )
                continue
            decoded.append((c.name, np.frombuffer(c.raw_numbers, dtype="<f8").astype(np.float64, copy=False)))
        elif len(c.categories):
            decoded.append((c.name, list(c.categories)))
        else:
            decoded.append((c.name, np.fromiter(c.numbers, dtype=np.float64, count=len(c.numbers))))
    rows = len(decoded[0][1]) if decoded else len(cols.row_ids)
    bad.extend(
        FieldViolation(f"columns.columns[{i}]", f"has {len(v)} values, the first column {rows}", "RAGGED")
        for i, (_, v) in enumerate(decoded)
        if len(v) != rows
    )
    if cols.row_ids and len(cols.row_ids) != rows:
        bad.append(FieldViolation("columns.row_ids", f"has {len(cols.row_ids)} ids for {rows} rows", "RAGGED"))
    if bad:
        raise InvalidArgument(bad)
    return list(cols.row_ids) or [""] * rows, ColumnBatch(rows, decoded)


def feature_scores_to_pb(ids: list[str], result: FeatureScores) -> pb.ScoreFeaturesResponse:
    """FeatureScores -> ScoreFeaturesResponse."""
    s = result.scores
    churn = result.kind == CHURN
    scores = [
        pb.RowScore(
            row_id=rid,
            score=float(s.scores[i]),
            risk_band=BAND_TO_PB[s.labels[i]] if churn else common_pb2.RISK_BAND_UNSPECIFIED,
            value_tier=common_pb2.ACCOUNT_TIER_UNSPECIFIED if churn else TIER_TO_PB[s.labels[i]],
            reasons=[reason_to_pb(x) for x in s.reasons[i]],
        )
        for i, rid in enumerate(ids)
    ]
    return pb.ScoreFeaturesResponse(
        model_id=result.model_id,
        scores=scores,
        ignored_features=sorted(s.ignored),
        missing_features=result.missing_features,
    )


def table_scores_to_pb(ids: list[str], parts: list[FeatureScores]) -> pb.ScoreFeaturesResponse:
    """A table's scores, scored in parts of rows -> one ScoreFeaturesResponse in row order."""
    reply = pb.ScoreFeaturesResponse(model_id=parts[0].model_id, missing_features=parts[0].missing_features)
    start = 0
    ignored: set[str] = set()
    for part in parts:
        rows = len(part.scores.scores)
        reply.scores.extend(feature_scores_to_pb(ids[start : start + rows], part).scores)
        ignored |= part.scores.ignored
        start += rows
    reply.ignored_features.extend(sorted(ignored))
    return reply


def optional_time(ts: Any) -> dt.datetime | None:
    """A set Timestamp as datetime, else None."""
    return from_timestamp(ts) if is_set(ts) else None
