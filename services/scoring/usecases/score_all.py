"""ScoreAll (usecases layer): score the whole base as a job, fit its analytics, store, publish changes.

The champions are read once at the start, so the whole batch carries one pair of model
versions even if a promotion happens meanwhile. Profile's export is consumed batch by
batch (the stream is pulled from the job thread through the event loop), each batch is
encoded straight from its frame, predicted and explained in one call per model, stored
with its versions. After the last batch the base analytics run is fitted over the whole
base (usecases/analytics.py: RFM, clusters, outliers, lifetime value) and stored; then the
accounts whose risk band or analytics changed are sent to profile, each once, with their
analytics. Erased accounts (tombstones) are left out of every batch: nothing is stored or
published for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument
from telco360_runtime.logs import get_logger

from ..domain.analytics import AccountAnalytics
from ..domain.contributions import PATH
from ..domain.params import CHURN
from ..domain.records import FeatureFrame, PublishedScore, StoredScore
from ..domain.registry import ChampionSet
from ..domain.scoring import score_matrix
from .analytics import BaseCollector, analyse_base, run_message, score_inputs
from .base import UseCases
from .context import Context

DEFAULT_BATCH = 1000


def model_version(champions: ChampionSet) -> str:
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
    version = model_version(champions)
    horizon = champions.value.horizon_months if champions.value else 0
    stream = ctx.source.export_features(as_of, batch_size or DEFAULT_BATCH)
    scored = changed = published = skipped = 0
    # The base's analytics inputs and every stored score are kept for the analytics run after
    # the last batch; publishing waits for it so each account is sent once, with its analytics.
    collected = BaseCollector()
    kept: dict[str, StoredScore] = {}
    band_changed: set[str] = set()
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
        collected.add(ff)
        kept.update((r.customer_id, r) for r in rows)
        band_changed.update(c.customer_id for c in changes)
        progress.update(done=scored, message=f"scored {scored} accounts; {changed} risk-band changes")
    analytics, analytics_changed, analysed = _analyse(ctx, collected, kept, as_of, progress)
    if publish:
        due = (band_changed | analytics_changed) & kept.keys()
        due -= ctx.store.erased_among(sorted(due))  # erased while the batch ran
        out = [_published(kept[cid], horizon, version, analytics.get(cid)) for cid in sorted(due)]
        for start in range(0, len(out), DEFAULT_BATCH):
            ctx.call(ctx.source.record_scores(out[start : start + DEFAULT_BATCH]))
        published = len(out)
    ctx.store.finish_batch(batch_id, ctx.clock())
    message = f"scored {scored} accounts; {changed} risk-band changes; {published} published to profile"
    message += f"; {analysed}"
    if skipped:
        message += f"; {skipped} erased accounts skipped"
    progress.update(done=scored, total=scored, message=message, force=True)
    return batch_id


def _published(s: StoredScore, horizon: int, version: str, analytics: AccountAnalytics | None) -> PublishedScore:
    return PublishedScore(
        customer_id=s.customer_id,
        churn_probability=float(s.churn_probability or 0.0),
        risk_band=s.risk_band,
        predicted_value_fen=int(s.predicted_value_fen or 0),
        value_horizon_months=horizon,
        model_version=version,
        scored_at=s.scored_at,
        reasons=[(r["feature"], r["phrase"], r["contribution"]) for r in s.reasons],
        analytics=analytics,
    )


def _analyse(
    ctx: Context, collected: BaseCollector, kept: dict[str, StoredScore], as_of: dt.datetime, progress: Any
) -> tuple[dict[str, AccountAnalytics], set[str], str]:
    """The base analytics run after scoring: (analytics by account, accounts whose analytics
    changed, a few words for the job message). A failed run leaves the scores in place: it is
    logged and the job says so, since scores alone are still worth having."""
    if not collected.ids:
        return {}, set(), "no accounts for base analytics"
    progress.update(message=f"base analytics over {len(collected.ids)} accounts")
    try:
        run, accounts, changed = analyse_base(ctx, collected, score_inputs(ctx, kept), as_of)
    except Exception:  # noqa: BLE001 - the scores are stored; the failure is logged with its traceback
        get_logger().exception("base_analytics_failed")
        return {}, set(), "base analytics failed (see the server log)"
    return {a.customer_id: a for a in accounts}, changed, run_message(run)


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
