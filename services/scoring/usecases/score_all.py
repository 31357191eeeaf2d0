"""ScoreAll (usecases layer): score the whole base with the champions as a job, store, publish band changes.

The champions are read once at the start, so the whole batch carries one pair of model
versions even if a promotion happens meanwhile. Profile's export is consumed batch by
batch (the stream is pulled from the job thread through the event loop), each batch is
encoded straight from its frame, predicted and explained in one call per model, stored
with its versions, and the accounts whose risk band changed are sent to profile. Erased
accounts (tombstones) are left out of every batch: nothing is stored or published for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from ..domain.contributions import PATH
from ..domain.params import CHURN
from ..domain.records import FeatureFrame, PublishedScore, StoredScore
from ..domain.registry import ChampionSet
from ..domain.scoring import score_matrix
from .base import UseCases
from .context import Context

DEFAULT_BATCH = 1000


def _model_version(champions: ChampionSet) -> str:
    """'churn:7,value:3' for profile's AccountScore.model_version."""
    parts = [f"{k}:{m.version}" for k, m in ((CHURN, champions.churn), ("value", champions.value)) if m is not None]
    return ",".join(parts)


def score_frame(
    champions: ChampionSet, ff: FeatureFrame, top_k: int, now: dt.datetime, method: str = PATH
) -> list[StoredScore]:
    """StoredScore rows for one exported batch (active accounts only)."""
    frame = ff.frame
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str).str.lower() != "terminated"]
    if frame.empty:
        return []
    ids = frame["customer_id"].astype(str).tolist()
    churn = (
        score_matrix(champions.churn, champions.churn.model.schema.encode_frame(frame), top_k, method)
        if champions.churn
        else None
    )
    value = (
        score_matrix(champions.value, champions.value.model.schema.encode_frame(frame), 0) if champions.value else None
    )
    out = []
    for i, cid in enumerate(ids):
        out.append(
            StoredScore(
                customer_id=cid,
                churn_probability=float(churn.scores[i]) if churn else None,
                risk_band=churn.labels[i] if churn else "",
                predicted_value_fen=int(round(float(value.scores[i]))) if value else None,
                value_tier=value.labels[i] if value else "",
                churn_model_id=champions.churn.model_id if champions.churn else "",
                value_model_id=champions.value.model_id if champions.value else "",
                scored_at=now,
                features_as_of=ff.as_of,
                reasons=[
                    {"feature": r.feature, "phrase": r.phrase, "contribution": r.contribution, "value": r.value}
                    for r in (churn.reasons[i] if churn else [])
                ],
            )
        )
    return out


def without_erased(ctx: Context, ff: FeatureFrame) -> tuple[FeatureFrame, int]:
    """The exported batch without erased accounts (tombstones, issue #15): they are neither
    scored, stored nor published; also the number left out."""
    frame = ff.frame
    if frame.empty or "customer_id" not in frame.columns:
        return ff, 0
    erased = ctx.store.erased_among(frame["customer_id"].astype(str).tolist())
    if not erased:
        return ff, 0
    keep = ~frame["customer_id"].astype(str).isin(erased)
    return FeatureFrame(ff.as_of, frame[keep], ff.descriptions), int((~keep).sum())


def check_champions(ctx: Context) -> ChampionSet:
    """The champions for a batch; FailedPrecondition when there is none at all."""
    champions = ctx.serving.current
    if champions.churn is None and champions.value is None:
        raise FailedPrecondition("no champion model yet: train a model and promote it first")
    return champions


def run_score_all(
    ctx: Context, champions: ChampionSet, as_of: dt.datetime, publish: bool, batch_size: int, progress: Any
) -> str:
    """The ScoreAll job body; returns the batch id."""
    batch_id = f"batch-{as_of:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    ctx.store.start_batch(
        batch_id,
        as_of,
        champions.churn.model_id if champions.churn else "",
        champions.value.model_id if champions.value else "",
        ctx.clock(),
    )
    version = _model_version(champions)
    horizon = champions.value.horizon_months if champions.value else 0
    stream = ctx.source.export_features(as_of, batch_size or DEFAULT_BATCH)
    scored = changed = published = skipped = 0
    progress.update(done=0, total=0, message="scoring")
    while True:
        try:
            ff = ctx.call(stream.__anext__())
        except StopAsyncIteration:
            break
        now = ctx.clock()
        ff, dropped = without_erased(ctx, ff)
        skipped += dropped
        rows = score_frame(champions, ff, ctx.config.batch_reasons, now, ctx.config.reason_method)
        changes = ctx.store.save_scores(batch_id, rows)
        scored += len(rows)
        changed += len(changes)
        if publish and changes:
            by_id = {r.customer_id: r for r in rows}
            out = [
                PublishedScore(
                    customer_id=c.customer_id,
                    churn_probability=float(by_id[c.customer_id].churn_probability or 0.0),
                    risk_band=c.band,
                    predicted_value_fen=int(by_id[c.customer_id].predicted_value_fen or 0),
                    value_horizon_months=horizon,
                    model_version=version,
                    scored_at=now,
                    reasons=[(r["feature"], r["phrase"], r["contribution"]) for r in by_id[c.customer_id].reasons],
                )
                for c in changes
            ]
            ctx.call(ctx.source.record_scores(out))
            published += len(out)
        progress.update(done=scored, message=f"scored {scored} accounts; {changed} risk-band changes")
    ctx.store.finish_batch(batch_id, ctx.clock())
    message = f"scored {scored} accounts; {changed} risk-band changes; {published} published to profile"
    if skipped:
        message += f"; {skipped} erased accounts skipped"
    progress.update(done=scored, total=scored, message=message, force=True)
    return batch_id


class ScoreAllUseCases(UseCases):
    """ScoreAll and the stored batch scores."""

    # -- batch ------------------------------------------------------------------------

    async def score_all(self, as_of: dt.datetime | None, skip_publish: bool, batch_size: int) -> str:
        """Start a ScoreAll job; returns its id."""
        self.ctx.bind_loop()
        if batch_size < 0 or batch_size > 5000:
            raise InvalidArgument(FieldViolation("batch_size", "must be between 0 and 5000", "OUT_OF_RANGE"))
        champions = check_champions(self.ctx)
        when = as_of or self.ctx.clock()
        publish = self.ctx.config.publish_band_changes and not skip_publish
        return await self._db_run(
            self._start_job,
            "score_all",
            lambda job_id, progress: run_score_all(self.ctx, champions, when, publish, batch_size, progress),
        )

    async def stored_score(self, customer_id: str) -> StoredScore:
        """An account's latest batch score."""
        if not customer_id:
            raise InvalidArgument(FieldViolation("customer_id", "required", "REQUIRED"))
        return await self._db_run(self.ctx.store.latest_score, customer_id)
