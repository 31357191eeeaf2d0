"""Base analytics use cases (usecases layer, issue #19): fit a run over the base, apply it, review outliers.

ScoreAll fits a run after scoring (run_score_all calls `analyse_base` with what it collected
batch by batch); RunBaseAnalytics fits one without rescoring, from profile's export and the
stored scores; ScoreCustomers assigns requested accounts against the latest run (no refit).
Every account's analytics are stored on its latest_scores row and published to profile with
its score (RecordScores) when they changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from telco360_runtime import paging
from telco360_runtime.bounds import ID_MAX, TEXT_MAX
from telco360_runtime.errors import DomainError, FieldViolation, InvalidArgument, NotFound
from telco360_runtime.logs import get_logger

from ..domain import analytics as domain_analytics
from ..domain import clusters as clusters_mod
from ..domain import rfm as rfm_mod
from ..domain.analytics import (
    CONFIRM,
    DISMISS,
    MARGIN_RATE_FEATURE,
    AccountAnalytics,
    AnalyticsRun,
    Review,
    ScoreInputs,
    assign,
    columns_of,
    fit_run,
)
from ..domain.records import FeatureFrame, PublishedScore, StoredScore
from .base import UseCases
from .context import Context


def wanted_features() -> tuple[str, ...]:
    """The exported features the analytics read (RFM, clusters, outlier detector, margin rate)."""
    cls = domain_analytics.detector_class()
    extra = tuple(getattr(cls, "FEATURES", ())) if cls is not None else ()
    return tuple(dict.fromkeys((*rfm_mod.FEATURES, *clusters_mod.FEATURES, *extra, MARGIN_RATE_FEATURE)))


@dataclass
class BaseCollector:
    """The analytics' inputs gathered batch by batch from profile's export (numeric columns only)."""

    features: tuple[str, ...] = field(default_factory=wanted_features)
    ids: list[str] = field(default_factory=list)
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, ff: FeatureFrame) -> None:
        """Keep the active accounts of one exported batch."""
        frame = ff.frame
        if frame.empty:
            return
        if "status" in frame.columns:
            frame = frame[frame["status"].astype(str).str.lower() != "terminated"]
        self.ids.extend(frame["customer_id"].astype(str).tolist())
        for name in self.features:
            if name in frame.columns:
                col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                col = np.full(len(frame), np.nan)
            self.parts.setdefault(name, []).append(col)

    def columns(self) -> dict[str, np.ndarray]:
        """name -> one array over every kept account."""
        return {name: np.concatenate(parts) for name, parts in self.parts.items()} if self.ids else {}


class HasScores(Protocol):
    """A stored, published or freshly computed score (what lifetime value reads)."""

    @property
    def churn_probability(self) -> float | None: ...

    @property
    def predicted_value_fen(self) -> int | None: ...


def score_inputs(ctx: Context, stored: Mapping[str, HasScores]) -> dict[str, ScoreInputs]:
    """The churn and value answers lifetime value combines, from the champions' horizons."""
    champions = ctx.serving.current
    churn_h = champions.churn.horizon_months if champions.churn else ctx.config.default_churn_horizon
    value_h = champions.value.horizon_months if champions.value else ctx.config.default_value_horizon
    out = {}
    for cid, s in stored.items():
        out[cid] = ScoreInputs(
            churn_probability=s.churn_probability,
            churn_horizon_months=churn_h or ctx.config.default_churn_horizon,
            predicted_value_fen=None if s.predicted_value_fen is None else float(s.predicted_value_fen),
            value_horizon_months=value_h or ctx.config.default_value_horizon,
            value_is_margin=champions.value is not None and champions.value.target == "margin",
        )
    return out


def _summary(a: AccountAnalytics | None) -> tuple[Any, ...]:
    """What profile's features and tags read: a change of it is worth publishing."""
    if a is None:
        return ()
    return (
        (a.rfm.recency, a.rfm.frequency, a.rfm.monetary, a.rfm.segment) if a.rfm else None,
        (a.cluster.label, a.cluster.name) if a.cluster else None,
        (a.outlier.flagged, a.outlier.dismissed, a.outlier.reasons) if a.outlier else None,
        (a.lifetime.clv_fen, a.lifetime.tier) if a.lifetime else None,
    )


def analyse_base(
    ctx: Context, collected: BaseCollector, scores: Mapping[str, ScoreInputs], as_of: dt.datetime
) -> tuple[AnalyticsRun, list[AccountAnalytics], set[str]]:
    """Fit a run over the collected base, store it with every account's analytics; also the
    accounts whose analytics changed since their previous ones."""
    store = ctx.store.analytics
    previous = store.latest_run()
    reviews = store.reviews()
    before = store.analytics_of(collected.ids)
    run_id = f"run-{ctx.clock():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    run, accounts = fit_run(
        run_id,
        ctx.clock(),
        collected.ids,
        collected.columns(),
        scores,
        previous=previous,
        seed=ctx.config.analytics_seed,
        lifetime=ctx.config.lifetime,
        reviews=reviews,
    )
    store.save_run(run, accounts, as_of)
    changed = {a.customer_id for a in accounts if _summary(a) != _summary(before.get(a.customer_id))}
    get_logger().info("base_analytics_run", run_id=run.run_id, accounts=run.accounts, k=run.k, flagged=run.flagged)
    return run, accounts, changed


def run_message(run: AnalyticsRun) -> str:
    """The run in a few words, for the job's message."""
    return f"analytics {run.run_id}: {run.k} clusters, {run.flagged} outliers flagged"


def _published(s: StoredScore, a: AccountAnalytics, version: str, horizon: int) -> PublishedScore:
    return PublishedScore(
        customer_id=s.customer_id,
        churn_probability=float(s.churn_probability or 0.0),
        risk_band=s.risk_band,
        predicted_value_fen=int(s.predicted_value_fen or 0),
        value_horizon_months=horizon,
        model_version=version,
        scored_at=s.scored_at,
        reasons=[(r["feature"], r["phrase"], r["contribution"]) for r in s.reasons],
        analytics=a,
    )


def run_base_analytics(ctx: Context, as_of: dt.datetime, publish: bool, batch_size: int, progress: Any) -> str:
    """The RunBaseAnalytics job body: collect the base, fit, store, publish changes; returns the run id."""
    collected = BaseCollector()
    stream = ctx.source.export_features(as_of, batch_size or 1000)
    progress.update(done=0, total=0, message="reading the base")
    while True:
        try:
            ff = ctx.call(stream.__anext__())
        except StopAsyncIteration:
            break
        erased = ctx.store.erased_among(ff.frame["customer_id"].astype(str).tolist()) if not ff.frame.empty else set()
        if erased:
            ff = FeatureFrame(ff.as_of, ff.frame[~ff.frame["customer_id"].astype(str).isin(erased)], ff.descriptions)
        collected.add(ff)
        progress.update(done=len(collected.ids), message=f"read {len(collected.ids)} accounts")
    # Analysed-only rows carry no model scores and are left out (no lifetime value).
    stored = ctx.store.analytics.scored_among(collected.ids)
    run, accounts, changed = analyse_base(ctx, collected, score_inputs(ctx, stored), as_of)
    published = 0
    if publish:
        from .score_all import model_version  # deferred: score_all imports this module

        version = model_version(ctx.serving.current)
        out = [
            _published(stored[a.customer_id], a, version, _value_horizon(ctx))
            for a in accounts
            if a.customer_id in changed and a.customer_id in stored
        ]
        if out:
            ctx.call(ctx.source.record_scores(out))
        published = len(out)
    message = f"{run_message(run)}; {run.accounts} accounts; {published} published to profile"
    progress.update(done=run.accounts, total=run.accounts, message=message, force=True)
    return run.run_id


def _value_horizon(ctx: Context) -> int:
    value = ctx.serving.current.value
    return value.horizon_months if value else 0


class AnalyticsUseCases(UseCases):
    """RunBaseAnalytics, GetBaseAnalytics, ListOutliers, ReviewOutlier and ScoreCustomers' analytics."""

    async def run_base_analytics(self, as_of: dt.datetime | None, skip_publish: bool, batch_size: int) -> str:
        """Start a RunBaseAnalytics job; returns its id."""
        self.ctx.bind_loop()
        if batch_size < 0 or batch_size > 5000:
            raise InvalidArgument(FieldViolation("batch_size", "must be between 0 and 5000", "OUT_OF_RANGE"))
        when = as_of or self.ctx.clock()
        publish = self.ctx.config.publish_band_changes and not skip_publish
        return await self._db_run(
            self._start_job,
            "base_analytics",
            lambda job_id, progress: run_base_analytics(self.ctx, when, publish, batch_size, progress),
        )

    async def latest_run(self) -> AnalyticsRun:
        """The latest run; NotFound before the first."""
        run = await self._db_run(self.ctx.store.analytics.latest_run)
        if run is None:
            raise NotFound("analytics run", "latest", "no base analytics run yet: run ScoreAll or RunBaseAnalytics")
        return run

    async def list_outliers(
        self, include_dismissed: bool, page: paging.PageMessage
    ) -> tuple[AnalyticsRun, list[AccountAnalytics], str, int]:
        """A page of the latest run's flagged accounts by id: (run, page, next token, total).

        A token is scoped to the run and the filter, so a new run restarts the listing (STALE)."""
        run = await self.latest_run()
        wanted = paging.read_page(page, scope=paging.scope_of("outliers", run.run_id, include_dismissed))
        items, more, total = await self._db_run(
            self.ctx.store.analytics.outliers, run.run_id, include_dismissed, wanted.size, wanted.after
        )
        next_token = wanted.next_token(items[-1].customer_id) if more and items else ""
        return run, items, next_token, total

    async def review_outlier(self, customer_id: str, decision: str, note: str, reviewer: str) -> Review:
        """Record a reviewer's decision on an account flagged in the latest run."""
        bad: list[FieldViolation] = []
        if not customer_id.strip():
            bad.append(FieldViolation("customer_id", "required", "REQUIRED"))
        elif len(customer_id) > ID_MAX:
            bad.append(FieldViolation("customer_id", f"at most {ID_MAX} characters", "TOO_LONG"))
        if decision not in (DISMISS, CONFIRM):
            bad.append(FieldViolation("decision", "must be DISMISS or CONFIRM", "REQUIRED"))
        if len(note) > TEXT_MAX:
            bad.append(FieldViolation("note", f"at most {TEXT_MAX} characters", "TOO_LONG"))
        if bad:
            raise InvalidArgument(bad)
        run = await self.latest_run()
        current = (await self._db_run(self.ctx.store.analytics.analytics_of, [customer_id])).get(customer_id)
        o = current.outlier if current and current.run_id == run.run_id else None
        if current is None or o is None or not o.detected:
            raise NotFound("outlier", customer_id, f"account '{customer_id}' is not flagged in the latest run")
        review = Review(customer_id, decision, o.reason_codes, reviewer, self.ctx.clock(), note, run.run_id)
        dismissed = decision == DISMISS
        updated = replace(current, outlier=replace(o, flagged=not dismissed, dismissed=dismissed))
        await self._db_run(self.ctx.store.analytics.add_review, review, updated)
        await self._publish_review(updated)
        return review

    async def _publish_review(self, updated: AccountAnalytics) -> None:
        """Tell profile at once (its outlier tag follows the review), with the stored score.

        Best effort: the review is stored either way and the next run publishes it; an account
        analysed but never scored has no score to send."""
        if not self.ctx.config.publish_band_changes:
            return
        try:
            stored = await self._db_run(self.ctx.store.latest_score, updated.customer_id)
        except NotFound:
            return
        if not (stored.churn_model_id or stored.value_model_id):
            return
        from .score_all import model_version  # deferred: score_all imports this module

        score = _published(stored, updated, model_version(self.ctx.serving.current), _value_horizon(self.ctx))
        try:
            await self.ctx.source.record_scores([score])
        except DomainError as error:
            get_logger().warning("review_publish_failed", code=type(error).__name__)


async def analytics_for(
    ctx: Context, db_run: Any, rows: Mapping[str, Mapping[str, Any]], inputs: Mapping[str, ScoreInputs]
) -> dict[str, AccountAnalytics]:
    """Accounts' analytics against the latest run (no refit); empty before the first run."""
    if not rows:
        return {}
    run = await _cached_run(ctx, db_run)
    if run is None:
        return {}
    ids = list(rows)
    reviews = await db_run(ctx.store.analytics.reviews, ids)
    columns = columns_of([rows[c] for c in ids])
    result = await asyncio.get_running_loop().run_in_executor(
        ctx.executor(), assign, run, ids, columns, inputs, ctx.config.lifetime, reviews
    )
    return {a.customer_id: a for a in result}


async def _cached_run(ctx: Context, db_run: Any) -> AnalyticsRun | None:
    """The latest run, fitted parts loaded once per run id (a cheap id query per call)."""
    run_id = await db_run(ctx.store.analytics.latest_run_id)
    if run_id is None:
        return None
    cached = ctx.analytics_run
    if cached is None or cached.run_id != run_id:
        cached = await db_run(ctx.store.analytics.latest_run)
        ctx.analytics_run = cached
    return cached
