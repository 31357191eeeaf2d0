"""Store of scoring's base analytics (issue #19): runs, each account's analytics, outlier reviews.

Plain synchronous functions over a `telco360_runtime.db.Database`, like the repository. An
account's analytics live on its latest_scores row; an account analysed before it was ever
batch-scored gets a row without model scores (batch id empty). Erased accounts are never
written (checked inside the write transaction).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sqlalchemy import desc, func, select

from telco360_runtime.db import Database

from ..domain.analytics import AccountAnalytics, AnalyticsRun, Review
from ..domain.clusters import ClusterModel
from ..domain.lifetime import ClvThresholds
from ..domain.records import StoredScore
from ..domain.rfm import RfmModel
from .models import AnalyticsRunRow, ErasedAccountRow, LatestScoreRow, OutlierReviewRow

FLAGGED, DISMISSED = "flagged", "dismissed"
_CHUNK = 500  # bounds IN lists (SQLite's variable limit)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _state(a: AccountAnalytics) -> str | None:
    if a.outlier is None:
        return None
    if a.outlier.flagged:
        return FLAGGED
    return DISMISSED if a.outlier.dismissed else None


def _finite(value: float) -> float | None:
    """JSON holds no infinity on PostgreSQL: an unreachable tier bound is stored as null."""
    return value if math.isfinite(value) else None


def _run(row: AnalyticsRunRow) -> AnalyticsRun:
    clv = row.clv
    return AnalyticsRun(
        run_id=row.run_id,
        created_at=_aware(row.created_at),
        accounts=row.accounts,
        rfm=RfmModel.from_json(row.rfm),
        clusters=ClusterModel.from_json(row.clusters),
        outlier_model=bytes(row.outlier_model),
        clv=ClvThresholds(*(math.inf if clv[k] is None else float(clv[k]) for k in ("top", "high", "medium")))
        if clv
        else None,
        segment_counts={str(k): int(v) for k, v in row.segment_counts.items()},
        flagged=row.flagged,
        seed=row.seed,
    )


class AnalyticsStore:
    """Base-analytics persistence."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save_run(self, run: AnalyticsRun, accounts: Sequence[AccountAnalytics], as_of: dt.datetime) -> int:
        """Store a run and every account's analytics in one transaction; returns the accounts written."""
        written = 0
        with self.db.write_session() as s:
            clv = run.clv
            s.add(
                AnalyticsRunRow(
                    run_id=run.run_id,
                    created_at=run.created_at,
                    accounts=run.accounts,
                    k=run.k,
                    silhouette=run.clusters.silhouette,
                    seed=run.seed,
                    rfm=run.rfm.to_json(),
                    clusters=run.clusters.to_json(),
                    clv={k: _finite(getattr(clv, k)) for k in ("top", "high", "medium")} if clv else None,
                    segment_counts=run.segment_counts,
                    flagged=run.flagged,
                    outlier_model=run.outlier_model,
                )
            )
            for start in range(0, len(accounts), _CHUNK):
                chunk = accounts[start : start + _CHUNK]
                ids = [a.customer_id for a in chunk]
                erased = set(
                    s.execute(select(ErasedAccountRow.customer_id).where(ErasedAccountRow.customer_id.in_(ids)))
                    .scalars()
                    .all()
                )
                rows = {
                    r.customer_id: r
                    for r in s.execute(select(LatestScoreRow).where(LatestScoreRow.customer_id.in_(ids))).scalars()
                }
                for a in chunk:
                    if a.customer_id in erased:
                        continue
                    row = rows.get(a.customer_id)
                    if row is None:
                        row = LatestScoreRow(
                            customer_id=a.customer_id,
                            batch_id="",
                            risk_band="",
                            value_tier="",
                            churn_model_id="",
                            value_model_id="",
                            scored_at=run.created_at,
                            features_as_of=as_of,
                            reasons=[],
                        )
                        s.add(row)
                    row.analytics = a.to_json()
                    row.analytics_run_id = run.run_id
                    row.outlier_state = _state(a)
                    written += 1
        return written

    def latest_run(self) -> AnalyticsRun | None:
        """The newest run, or None before the first."""
        with self.db.session() as s:
            row = s.execute(select(AnalyticsRunRow).order_by(desc(AnalyticsRunRow.created_at)).limit(1)).scalar()
            return _run(row) if row is not None else None

    def latest_run_id(self) -> str | None:
        """The newest run's id (cheap: lets a server keep the fitted run cached)."""
        with self.db.session() as s:
            return s.execute(
                select(AnalyticsRunRow.run_id).order_by(desc(AnalyticsRunRow.created_at)).limit(1)
            ).scalar()

    def analytics_of(self, customer_ids: Sequence[str]) -> dict[str, AccountAnalytics]:
        """The stored analytics of the accounts that have any."""
        out: dict[str, AccountAnalytics] = {}
        unique = list(dict.fromkeys(customer_ids))
        with self.db.session() as s:
            for start in range(0, len(unique), _CHUNK):
                rows = s.execute(
                    select(LatestScoreRow.customer_id, LatestScoreRow.analytics).where(
                        LatestScoreRow.customer_id.in_(unique[start : start + _CHUNK])
                    )
                ).all()
                out.update({cid: AccountAnalytics.from_json(cid, a) for cid, a in rows if a})
        return out

    def scored_among(self, customer_ids: Sequence[str]) -> dict[str, StoredScore]:
        """The latest batch scores of the accounts that have model scores (one query per 500 ids)."""
        out: dict[str, StoredScore] = {}
        unique = list(dict.fromkeys(customer_ids))
        with self.db.session() as s:
            for start in range(0, len(unique), _CHUNK):
                rows = s.execute(
                    select(LatestScoreRow).where(
                        LatestScoreRow.customer_id.in_(unique[start : start + _CHUNK]),
                        (LatestScoreRow.churn_model_id != "") | (LatestScoreRow.value_model_id != ""),
                    )
                ).scalars()
                for r in rows:
                    out[r.customer_id] = StoredScore(
                        r.customer_id,
                        r.churn_probability,
                        r.risk_band,
                        r.predicted_value_fen,
                        r.value_tier,
                        r.churn_model_id,
                        r.value_model_id,
                        _aware(r.scored_at),
                        _aware(r.features_as_of),
                        list(r.reasons),
                    )
        return out

    def outliers(
        self, run_id: str, include_dismissed: bool, size: int, after: str
    ) -> tuple[list[AccountAnalytics], bool, int]:
        """Flagged (and optionally dismissed) accounts of a run by id, after `after`: (page, more, total)."""
        states = [FLAGGED, DISMISSED] if include_dismissed else [FLAGGED]
        where = (LatestScoreRow.analytics_run_id == run_id, LatestScoreRow.outlier_state.in_(states))
        with self.db.session() as s:
            total = int(s.execute(select(func.count()).select_from(LatestScoreRow).where(*where)).scalar() or 0)
            q = select(LatestScoreRow.customer_id, LatestScoreRow.analytics).where(*where)
            if after:
                q = q.where(LatestScoreRow.customer_id > after)
            rows = s.execute(q.order_by(LatestScoreRow.customer_id).limit(size + 1)).all()
        page = [AccountAnalytics.from_json(cid, a) for cid, a in rows[:size]]
        return page, len(rows) > size, total

    def add_review(self, review: Review, updated: AccountAnalytics) -> None:
        """Keep a review and the account's analytics as the review leaves them."""
        with self.db.write_session() as s:
            s.add(
                OutlierReviewRow(
                    customer_id=review.customer_id,
                    run_id=review.run_id,
                    decision=review.decision,
                    reason_codes=list(review.reason_codes),
                    reviewer=review.reviewer,
                    reviewed_at=review.reviewed_at,
                    note=review.note,
                )
            )
            row = s.get(LatestScoreRow, review.customer_id)
            if row is not None:
                row.analytics = updated.to_json()
                row.outlier_state = _state(updated)

    def reviews(self, customer_ids: Sequence[str] | None = None) -> dict[str, list[Review]]:
        """Reviews by account, oldest first (all accounts when `customer_ids` is None)."""
        out: dict[str, list[Review]] = {}
        with self.db.session() as s:
            q = select(OutlierReviewRow).order_by(OutlierReviewRow.reviewed_at, OutlierReviewRow.review_id)
            if customer_ids is None:
                rows = list(s.execute(q).scalars())
            else:
                unique = list(dict.fromkeys(customer_ids))
                rows = []
                for start in range(0, len(unique), _CHUNK):
                    chunk = unique[start : start + _CHUNK]
                    rows.extend(s.execute(q.where(OutlierReviewRow.customer_id.in_(chunk))).scalars())
            for r in rows:
                out.setdefault(r.customer_id, []).append(
                    Review(
                        r.customer_id,
                        r.decision,
                        tuple(r.reason_codes),
                        r.reviewer,
                        _aware(r.reviewed_at),
                        r.note,
                        r.run_id,
                    )
                )
        return out
