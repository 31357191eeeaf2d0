"""Repository of the scoring store: registry, champions and batch scores.

Plain synchronous functions over a `telco360_runtime.db.Database`; async callers use
`await db.run(...)`. Never raises RpcError; unknown ids raise NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from telco360_runtime.db import Database
from telco360_runtime.errors import FailedPrecondition, NotFound

from ..domain.analytics import AccountAnalytics
from ..domain.records import BandChange, Erasure, StoredScore
from ..domain.registry import CHAMPION, READY, RETIRED, ModelRecord
from .analytics import AnalyticsStore
from .models import (
    ChampionRow,
    ErasedAccountRow,
    LatestScoreRow,
    ModelRow,
    OutlierReviewRow,
    ScoreBatchRow,
    ScoreRow,
)


def _record(row: ModelRow, with_blobs: bool = True) -> ModelRecord:
    return ModelRecord(
        model_id=row.model_id,
        kind=row.kind,
        version=row.version,
        status=row.status,
        description=row.description,
        created_at=_aware(row.created_at),
        features=list(row.features),
        importance=dict(row.importance),
        metrics=dict(row.metrics),
        lineage=dict(row.lineage),
        best_iteration=row.best_iteration,
        logit_offset=row.logit_offset,
        logit_scale=row.logit_scale,
        value_boundaries=list(row.value_boundaries),
        model_text=row.model_text if with_blobs else "",
        holdout=row.holdout if with_blobs else b"",
        job_id=row.job_id,
        promotion_note=row.promotion_note,
        promoted_at=_aware(row.promoted_at) if row.promoted_at else None,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class ScoringStore:
    """Registry, champion and score persistence."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.analytics = AnalyticsStore(db)  # base analytics (issue #19): runs, reviews

    # -- registry ---------------------------------------------------------------------

    def add_model(self, record: ModelRecord) -> ModelRecord:
        """Insert a model version; its version is assigned here under the write lock."""
        with self.db.write_session() as s:
            current = s.execute(select(func.max(ModelRow.version)).where(ModelRow.kind == record.kind)).scalar()
            record.version = int(current or 0) + 1
            s.add(
                ModelRow(
                    model_id=record.model_id,
                    kind=record.kind,
                    version=record.version,
                    status=record.status,
                    description=record.description,
                    created_at=record.created_at,
                    promoted_at=record.promoted_at,
                    job_id=record.job_id,
                    promotion_note=record.promotion_note,
                    features=record.features,
                    importance=record.importance,
                    metrics=record.metrics,
                    lineage=record.lineage,
                    best_iteration=record.best_iteration,
                    logit_offset=record.logit_offset,
                    logit_scale=record.logit_scale,
                    value_boundaries=record.value_boundaries,
                    model_text=record.model_text,
                    holdout=record.holdout,
                )
            )
        return record

    def get_model(self, model_id: str, with_blobs: bool = True) -> ModelRecord:
        """One model version; NotFound for an unknown id."""
        with self.db.session() as s:
            row = s.get(ModelRow, model_id)
            if row is None:
                raise NotFound("model", model_id)
            return _record(row, with_blobs)

    def list_models(
        self, kind: str | None, size: int, after: tuple[dt.datetime, str] | None
    ) -> tuple[list[ModelRecord], bool, int]:
        """Up to `size` models, newest first (created_at, model_id descending), strictly after the
        key `after` (keyset paging): (records without blobs, whether more follow, total)."""
        with self.db.session() as s:
            q = select(ModelRow)
            count_q = select(func.count()).select_from(ModelRow)
            if kind:
                q = q.where(ModelRow.kind == kind)
                count_q = count_q.where(ModelRow.kind == kind)
            if after is not None:
                created, model_id = after
                q = q.where(
                    or_(
                        ModelRow.created_at < created,
                        and_(ModelRow.created_at == created, ModelRow.model_id < model_id),
                    )
                )
            total = int(s.execute(count_q).scalar() or 0)
            rows = (
                s.execute(q.order_by(ModelRow.created_at.desc(), ModelRow.model_id.desc()).limit(size + 1))
                .scalars()
                .all()
            )
            records = [_record(r, with_blobs=False) for r in rows[:size]]
        return records, len(rows) > size, total

    def set_note(self, model_id: str, note: str) -> None:
        """Record why a model was or was not promoted automatically."""
        with self.db.write_session() as s:
            s.execute(update(ModelRow).where(ModelRow.model_id == model_id).values(promotion_note=note))

    def promote(self, model_id: str, now: dt.datetime) -> ModelRecord:
        """Make a model the champion of its kind; the previous champion is RETIRED."""
        with self.db.write_session() as s:
            row = s.get(ModelRow, model_id)
            if row is None:
                raise NotFound("model", model_id)
            if row.status not in (READY, CHAMPION, RETIRED):
                raise FailedPrecondition(f"model {model_id} is {row.status}; only trained models can be promoted")
            champ = s.get(ChampionRow, row.kind)
            if champ is None:
                s.add(ChampionRow(kind=row.kind, model_id=model_id, promoted_at=now))
            elif champ.model_id != model_id:
                s.execute(update(ModelRow).where(ModelRow.model_id == champ.model_id).values(status=RETIRED))
                champ.model_id = model_id
                champ.promoted_at = now
            row.status = CHAMPION
            row.promoted_at = now
            s.flush()
            return _record(row)

    def champions(self) -> dict[str, ModelRecord]:
        """Current champion record of each kind that has one."""
        with self.db.session() as s:
            rows = (
                s.execute(select(ModelRow).join(ChampionRow, ChampionRow.model_id == ModelRow.model_id)).scalars().all()
            )
            return {r.kind: _record(r) for r in rows}

    def champion_ids(self) -> dict[str, str]:
        """Champion model id per kind (cheap: used by replicas to notice promotions)."""
        with self.db.session() as s:
            return {k: m for k, m in s.execute(select(ChampionRow.kind, ChampionRow.model_id)).all()}

    # -- batch scores -----------------------------------------------------------------

    def start_batch(
        self, batch_id: str, as_of: dt.datetime, churn_model_id: str, value_model_id: str, now: dt.datetime
    ) -> None:
        """Register a ScoreAll run."""
        with self.db.write_session() as s:
            s.add(
                ScoreBatchRow(
                    batch_id=batch_id,
                    as_of=as_of,
                    churn_model_id=churn_model_id,
                    value_model_id=value_model_id,
                    started_at=now,
                    scored=0,
                    band_changes=0,
                )
            )

    def save_scores(self, batch_id: str, scores: Sequence[StoredScore]) -> list[BandChange]:
        """Store one chunk of a batch; update latest scores; return the band changes."""
        if not scores:
            return []
        changes: list[BandChange] = []
        with self.db.write_session() as s:
            # An account erased while the batch ran is not stored (checked in the write
            # transaction, so an erasure committed before it is always seen).
            erased = _erased_among(s, [x.customer_id for x in scores])
            if erased:
                scores = [x for x in scores if x.customer_id not in erased]
            ids = [x.customer_id for x in scores]
            latest = {
                r.customer_id: r
                for r in s.execute(select(LatestScoreRow).where(LatestScoreRow.customer_id.in_(ids))).scalars()
            }
            s.add_all(
                ScoreRow(
                    batch_id=batch_id,
                    customer_id=x.customer_id,
                    churn_probability=x.churn_probability,
                    risk_band=x.risk_band,
                    predicted_value_fen=x.predicted_value_fen,
                    value_tier=x.value_tier,
                    scored_at=x.scored_at,
                    reasons=x.reasons,
                )
                for x in scores
            )
            for x in scores:
                prev = latest.get(x.customer_id)
                if prev is None:
                    prev = LatestScoreRow(customer_id=x.customer_id)
                    s.add(prev)
                    previous_band = ""
                else:
                    previous_band = prev.risk_band
                if x.risk_band and x.risk_band != previous_band:
                    changes.append(BandChange(x.customer_id, previous_band, x.risk_band))
                prev.batch_id = batch_id
                prev.churn_probability = x.churn_probability
                prev.risk_band = x.risk_band
                prev.predicted_value_fen = x.predicted_value_fen
                prev.value_tier = x.value_tier
                prev.churn_model_id = x.churn_model_id
                prev.value_model_id = x.value_model_id
                prev.scored_at = x.scored_at
                prev.features_as_of = x.features_as_of
                prev.reasons = x.reasons
            s.execute(
                update(ScoreBatchRow)
                .where(ScoreBatchRow.batch_id == batch_id)
                .values(
                    scored=ScoreBatchRow.scored + len(scores), band_changes=ScoreBatchRow.band_changes + len(changes)
                )
            )
        return changes

    def finish_batch(self, batch_id: str, now: dt.datetime) -> None:
        """Mark a batch finished."""
        with self.db.write_session() as s:
            s.execute(update(ScoreBatchRow).where(ScoreBatchRow.batch_id == batch_id).values(finished_at=now))

    def batch_counts(self, batch_id: str) -> tuple[int, int]:
        """(accounts scored, band changes) of a batch."""
        with self.db.session() as s:
            row = s.get(ScoreBatchRow, batch_id)
            if row is None:
                raise NotFound("score batch", batch_id)
            return row.scored, row.band_changes

    def latest_score(self, customer_id: str) -> StoredScore:
        """An account's latest batch score; NotFound when never batch-scored."""
        with self.db.session() as s:
            r = s.get(LatestScoreRow, customer_id)
            if r is None:
                if s.get(ErasedAccountRow, customer_id) is not None:
                    raise NotFound("score", customer_id, f"account '{customer_id}' is erased")
                raise NotFound("score", customer_id, f"account '{customer_id}' has no stored score")
            return StoredScore(
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
                AccountAnalytics.from_json(r.customer_id, r.analytics) if r.analytics else None,
            )

    def batch_scores(self, batch_id: str) -> Iterable[tuple[str, float | None, str]]:
        """(customer_id, churn probability, band) of every score of a batch."""
        with self.db.session() as s:
            return list(
                s.execute(
                    select(ScoreRow.customer_id, ScoreRow.churn_probability, ScoreRow.risk_band).where(
                        ScoreRow.batch_id == batch_id
                    )
                )
                .tuples()
                .all()
            )

    # -- erasure (issue #15) ----------------------------------------------------------

    def apply_erasure(self, customer_id: str, erasure_id: str, now: dt.datetime) -> Erasure:
        """Delete the account's batch scores and latest score and leave its tombstone, in one
        transaction. A repeat (tombstone already there) deletes nothing more and answers what
        the first application removed, with its time."""
        with self.db.write_session() as s:
            row = s.get(ErasedAccountRow, customer_id)
            if row is not None:
                return _erasure(row, repeated=True)
            scores = _deleted(s, delete(ScoreRow).where(ScoreRow.customer_id == customer_id))
            latest = _deleted(s, delete(LatestScoreRow).where(LatestScoreRow.customer_id == customer_id))
            # The latest row carries the account's base analytics (issue #19); its outlier
            # reviews go with it.
            reviews = _deleted(s, delete(OutlierReviewRow).where(OutlierReviewRow.customer_id == customer_id))
            row = ErasedAccountRow(
                customer_id=customer_id,
                erasure_id=erasure_id,
                erased_at=now,
                removed={"scores": scores, "latest_scores": latest, "outlier_reviews": reviews},
            )
            s.add(row)
            s.flush()
            return _erasure(row, repeated=False)

    def lift_erasure(self, customer_id: str) -> bool:
        """Remove the account's tombstone; False when there was none."""
        with self.db.write_session() as s:
            gone = _deleted(s, delete(ErasedAccountRow).where(ErasedAccountRow.customer_id == customer_id))
        return bool(gone)

    def erased_among(self, customer_ids: Sequence[str]) -> set[str]:
        """The ids of `customer_ids` that are erased (have a tombstone)."""
        if not customer_ids:
            return set()
        with self.db.session() as s:
            return _erased_among(s, customer_ids)


def _deleted(s: Session, statement: Any) -> int:
    """Rows a DELETE removed."""
    return int(cast(CursorResult[Any], s.execute(statement)).rowcount or 0)


def _erased_among(s: Session, customer_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    unique = list(dict.fromkeys(customer_ids))
    for i in range(0, len(unique), 500):  # bound the IN list (SQLite's variable limit)
        chunk = unique[i : i + 500]
        found.update(
            s.execute(select(ErasedAccountRow.customer_id).where(ErasedAccountRow.customer_id.in_(chunk))).scalars()
        )
    return found


def _erasure(row: ErasedAccountRow, repeated: bool) -> Erasure:
    return Erasure(
        customer_id=row.customer_id,
        erasure_id=row.erasure_id,
        erased_at=_aware(row.erased_at),
        removed={str(k): int(v) for k, v in dict(row.removed).items()},
        repeated=repeated,
    )
