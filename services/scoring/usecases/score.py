"""Serving use cases (usecases layer): ScoreCustomers (features from profile), ScoreFeatures, ScoreTable.

CPU-bound scoring runs in a small thread pool so concurrent requests overlap; small batches
without reasons are scored on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from telco360_runtime.bounds import preview
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from ..domain.params import CHURN
from ..domain.records import FeatureLookup
from ..domain.registry import ServingModel
from ..domain.schema import ColumnBatch
from ..domain.scoring import (
    NOT_FOUND,
    OK,
    AccountResult,
    ModelScores,
    score_accounts,
    score_columns,
    score_with,
    table_columns,
)
from ..domain.table import read_table
from .analytics import analytics_for, score_inputs
from .base import UseCases

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


class ScoreUseCases(UseCases):
    """Scores with the champions or a named model."""

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
        # Erased accounts (tombstones, issue #15) are answered NOT_FOUND without asking profile.
        erased = await self._db_run(self.ctx.store.erased_among, unique)
        wanted = [c for c in unique if c not in erased]
        now = self.ctx.clock()
        lookup = await self.ctx.source.get_features(wanted) if wanted else FeatureLookup(as_of=now)
        lookup.not_found.update(erased)
        results = await asyncio.get_running_loop().run_in_executor(
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
        results = await self._with_analytics(results, lookup.rows)
        if not erased:
            return results
        return [
            AccountResult(r.customer_id, NOT_FOUND, f"customer '{r.customer_id}' is erased")
            if r.customer_id in erased
            else r
            for r in results
        ]

    async def _with_analytics(
        self, results: list[AccountResult], rows: Mapping[str, Mapping[str, Any]]
    ) -> list[AccountResult]:
        """The scored accounts' base analytics against the latest run (issue #19; no refit)."""
        scored = {r.customer_id: r for r in results if r.status == OK}
        if not scored:
            return results
        inputs = score_inputs(self.ctx, scored)
        found = await analytics_for(self.ctx, self._db_run, {c: rows[c] for c in scored if c in rows}, inputs)
        if not found:
            return results
        return [replace(r, analytics=found[r.customer_id]) if r.customer_id in found else r for r in results]

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

    async def score_table(
        self,
        content: bytes,
        fmt: str,
        *,
        id_column: str,
        exclude: Sequence[str],
        model_id: str,
        kind: str,
        top_k: int,
    ) -> tuple[list[str], list[FeatureScores]]:
        """Scores of a brought table's rows in row order: (row ids, one FeatureScores per
        part of at most MAX_ROWS rows, every part scored by the same model)."""
        if not fmt:
            raise InvalidArgument(FieldViolation("format", "is required", "REQUIRED"))
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(self.ctx.executor(), read_table, content, fmt)
        named = [("id_column", id_column), *((f"exclude_columns[{i}]", c) for i, c in enumerate(exclude))]
        bad = [
            FieldViolation(field, f"column {preview(name)} is not in the table", "UNKNOWN_COLUMN")
            for field, name in named
            if name and name not in frame.columns
        ]
        if bad:
            raise InvalidArgument(bad)
        if not len(frame):
            raise InvalidArgument(FieldViolation("content", "the table has no rows", "REQUIRED"))
        ids, batch = table_columns(frame, id_column, exclude)
        parts: list[FeatureScores] = []
        for start in range(0, batch.rows, MAX_ROWS):
            stop = min(start + MAX_ROWS, batch.rows)
            part = ColumnBatch(stop - start, [(name, values[start:stop]) for name, values in batch.columns])
            # The first part names the model (the champion at the time); the rest use it too.
            parts.append(await self.score_features([], model_id, kind, top_k, part))
            model_id = parts[0].model_id
        return ids, parts
