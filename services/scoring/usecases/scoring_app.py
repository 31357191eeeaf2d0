"""The scoring use cases behind every rpc (usecases layer; api/servicer.py converts protobuf and calls these).

Async methods run on the server's event loop: validation, the profile call and the store
calls (in the store's pool) are awaited; CPU-bound scoring runs in a small thread pool so
concurrent requests overlap; long work starts a job and answers its id at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telco360_runtime.bounds import preview
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from ..domain.params import CHURN, VALUE
from ..domain.records import StoredScore
from ..domain.registry import ModelRecord, ServingModel
from ..domain.schema import ColumnBatch
from ..domain.scoring import AccountResult, ModelScores, score_accounts, score_columns, score_with
from .context import Context
from .jobs import start_job
from .reports import write_report
from .score_all import check_champions, run_score_all
from .train import (
    Plan,
    TableRequest,
    TrainRequest,
    plan_training,
    run_table_training,
    run_training,
    validate_table_request,
)

MAX_IDS = 1000
MAX_ROWS = 10_000
#: Batches up to this size without reasons are scored on the event loop (no thread hop).
INLINE_ROWS = 128


@dataclass(frozen=True)
class FeatureScores:
    """Result of ScoreFeatures."""

    model_id: str
    kind: str
    scores: ModelScores
    missing_features: list[str]


class ScoringApp:
    """Use cases of the scoring service."""

    def __init__(self, ctx: Context, db_run: Callable[..., Any]) -> None:
        self.ctx = ctx
        self._db_run = db_run

    # -- lifecycle --------------------------------------------------------------------

    def load_champions(self) -> bool:
        """Install the stored champions (start-up, and when another replica promoted)."""
        return self.ctx.serving.sync(self.ctx.store.champions())

    async def refresh_champions(self) -> bool:
        """Pick up promotions made by other replicas (cheap id check first)."""
        ids = await self._db_run(self.ctx.store.champion_ids)
        current = self.ctx.serving.current
        if all(((m.model_id if (m := current.get(k)) else None) == ids.get(k)) for k in (CHURN, VALUE)):
            return False
        return await self._db_run(self.load_champions)

    def _start_job(self, kind: str, body: Callable[[str, Any], str]) -> str:
        """Start a job whose body also learns its own job id (failures become clean sentences)."""
        return start_job(self.ctx.runner, kind, body)

    # -- training ---------------------------------------------------------------------

    async def train_model(self, req: TrainRequest) -> str:
        """Validate and start a TrainModel job; returns its id."""
        self.ctx.bind_loop()
        plan: Plan = plan_training(req, self.ctx)
        return await self._db_run(
            self._start_job, "train_model", lambda job_id, progress: run_training(self.ctx, plan, req, job_id, progress)
        )

    async def train_from_table(self, req: TableRequest) -> str:
        """Validate and start a TrainFromTable job; returns its id."""
        self.ctx.bind_loop()
        fmt, params = validate_table_request(req)
        if req.path and not os.path.isfile(req.path):
            raise InvalidArgument(
                FieldViolation("path", f"no such file on the scoring server: {preview(req.path)}", "NOT_FOUND")
            )
        return await self._db_run(
            self._start_job,
            "train_from_table",
            lambda job_id, progress: run_table_training(self.ctx, req, fmt, params, job_id, progress),
        )

    # -- registry ---------------------------------------------------------------------

    async def get_model(self, model_id: str) -> ModelRecord:
        """One model version (NotFound for an unknown id)."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        return await self._db_run(self.ctx.store.get_model, model_id, False)

    async def list_models(
        self, kind: str | None, page_size: int, page_token: str
    ) -> tuple[list[ModelRecord], str, int]:
        """A page of models, newest first."""
        if page_size < 0 or page_size > 1000:
            raise InvalidArgument(FieldViolation("page.page_size", "must be between 0 and 1000", "OUT_OF_RANGE"))
        return await self._db_run(self.ctx.store.list_models, kind, page_size, page_token)

    def resume_token(self, page_token: str, taken: int) -> str:
        """The ListModels token that resumes after `taken` items of the page `page_token` began
        (pages end early when their encoded size reaches the message limit)."""
        return self.ctx.store.resume_token(page_token, taken)

    async def promote(self, model_id: str) -> ModelRecord:
        """Make a model the champion: stored first, then swapped atomically in memory."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        record = await self._db_run(self.ctx.store.promote, model_id, self.ctx.clock())
        # Parsing the booster happens before the swap, off the event loop.
        await asyncio.get_running_loop().run_in_executor(self.ctx.executor(), self.ctx.serving.install, record)
        return record

    # -- serving ----------------------------------------------------------------------

    async def score_customers(self, customer_ids: Sequence[str], top_k: int, churn_only: bool) -> list[AccountResult]:
        """Scores of accounts by id with the champions, features fetched from profile."""
        if not customer_ids:
            raise InvalidArgument(FieldViolation("customer_ids", "at least one id is required", "REQUIRED"))
        if len(customer_ids) > MAX_IDS:
            raise InvalidArgument(FieldViolation("customer_ids", f"at most {MAX_IDS} ids per call", "OUT_OF_RANGE"))
        if top_k < 0 or top_k > 10:
            raise InvalidArgument(FieldViolation("top_reasons", "must be between 0 and 10", "OUT_OF_RANGE"))
        champions = self.ctx.serving.current
        if champions.churn is None and (churn_only or champions.value is None):
            raise FailedPrecondition("no champion model yet: train a model and promote it first")
        unique = list(dict.fromkeys(customer_ids))
        lookup = await self.ctx.source.get_features(unique)
        now = self.ctx.clock()
        return await asyncio.get_running_loop().run_in_executor(
            self.ctx.executor(),
            score_accounts,
            champions,
            customer_ids,
            lookup.rows,
            lookup.not_found,
            lookup.terminated,
            top_k or 3,
            churn_only,
            now,
            lookup.as_of,
            self.ctx.config.reason_method,
        )

    async def _model_for(self, model_id: str, kind: str) -> ServingModel:
        """A champion by kind, or any registered model by id (loaded once, cached)."""
        if model_id:
            cached = self.ctx.serving.cached(model_id)
            if cached is not None:
                return cached
            record = await self._db_run(self.ctx.store.get_model, model_id)
            return self.ctx.serving.serving_model(record)
        champ = self.ctx.serving.current.get(kind)
        if champ is None:
            raise FailedPrecondition(f"no {kind} champion yet: name a model_id or promote a model")
        return champ

    async def score_features(
        self,
        rows: Sequence[Mapping[str, Any]],
        model_id: str,
        kind: str,
        top_k: int,
        columns: ColumnBatch | None = None,
    ) -> FeatureScores:
        """Scores of caller-supplied feature rows (as dicts, or as columns)."""
        n = columns.rows if columns is not None else len(rows)
        if columns is not None and rows:
            raise InvalidArgument(FieldViolation("columns", "give rows or columns, not both", "ONE_OF"))
        if not n:
            raise InvalidArgument(FieldViolation("rows", "at least one row is required", "REQUIRED"))
        if n > MAX_ROWS:
            raise InvalidArgument(
                FieldViolation(
                    "rows" if columns is None else "columns", f"at most {MAX_ROWS} rows per call", "OUT_OF_RANGE"
                )
            )
        if top_k < 0 or top_k > 10:
            raise InvalidArgument(FieldViolation("top_reasons", "must be between 0 and 10", "OUT_OF_RANGE"))
        model = await self._model_for(model_id, kind or CHURN)
        method = self.ctx.config.reason_method
        fn: Callable[..., ModelScores]
        batch: Any  # a ColumnBatch for score_columns, row dicts for score_with
        if columns is not None:
            fn, batch, sent = score_columns, columns, columns.names
        else:
            fn, batch, sent = score_with, rows, set().union(*(r.keys() for r in rows))
        if n <= INLINE_ROWS and not top_k:
            # Without reasons, predicting up to INLINE_ROWS rows takes well under a millisecond
            # on the loop; a hop to the pool and back costs about as much again under load.
            scores = fn(model, batch, top_k, method)
        else:
            scores = await asyncio.get_running_loop().run_in_executor(
                self.ctx.executor(), fn, model, batch, top_k, method
            )
        missing = [name for name in model.model.schema.names if name not in sent]
        return FeatureScores(model.model_id, model.model.kind, scores, missing)

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

    # -- reports ----------------------------------------------------------------------

    def write_report(self, model_id: str) -> tuple[str, str, dt.datetime]:
        """Render a model's report into the report directory: (path, html, generated_at)."""
        return write_report(self.ctx, model_id)

    async def report(self, model_id: str) -> tuple[str, str, dt.datetime]:
        """GetReport: render (in the CPU pool; plotting is slow) and return the document."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        return await asyncio.get_running_loop().run_in_executor(self.ctx.executor(), self.write_report, model_id)
