"""Training use cases (usecases layer): TrainModel (profile features) and TrainFromTable, run as jobs.

Both validate the request up front (bad input answers at once, before a job exists), then
run on a job thread: build the training and holdout frames, fit locally or on Dask,
evaluate on the holdout, register the version and apply the auto-promotion rule, which
compares the new model with the champion on the very same holdout rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import pathlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.reasons import NOT_ALLOWED, NOT_READABLE, UNKNOWN_ID

from ..domain.evaluation import churn_metrics, value_metrics
from ..domain.labels import (
    Outcomes,
    add_months,
    build_training_set,
    month_str,
    stack_training_sets,
    utc,
    window_end,
    window_months,
)
from ..domain.modelling import Fitted, fit_and_evaluate, frame_fingerprint, local_trainer, make_record, new_model_id
from ..domain.params import CHURN, VALUE, TrainParams, parse_params
from ..domain.records import FeatureFrame
from ..domain.registry import ALWAYS, IF_BETTER, NEVER, ModelRecord, promotion_decision
from ..domain.table import CSV, detect_format, prepare_table, read_table
from .base import UseCases
from .context import Context

MAX_CUTOFFS = 36


@dataclass
class TrainRequest:
    """TrainModel, in domain terms."""

    kind: str
    as_of: list[pd.Timestamp]
    horizon_months: int = 0
    holdout_as_of: pd.Timestamp | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    auto_promote: str = NEVER
    min_gain: float = 0.0
    description: str = ""


@dataclass
class TableRequest:
    """TrainFromTable, in domain terms."""

    content: bytes
    path: str
    format: str
    id_column: str
    label_column: str
    kind: str = CHURN
    time_column: str = ""
    holdout_fraction: float = 0.0
    exclude_columns: tuple[str, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)
    auto_promote: str = NEVER
    min_gain: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class Plan:
    """A validated TrainModel: sorted training cut-offs, holdout, horizon, parameters."""

    kind: str
    train_cutoffs: list[pd.Timestamp]
    holdout: pd.Timestamp
    horizon: int
    params: TrainParams


def plan_training(req: TrainRequest, ctx: Context) -> Plan:
    """Validate a TrainModel request (all violations together)."""
    bad: list[FieldViolation] = []
    if req.kind not in (CHURN, VALUE):
        bad.append(FieldViolation("kind", "must be MODEL_KIND_CHURN or MODEL_KIND_VALUE", "REQUIRED"))
    horizon = req.horizon_months or (
        ctx.config.default_churn_horizon if req.kind == CHURN else ctx.config.default_value_horizon
    )
    if not 1 <= horizon <= 24:
        bad.append(FieldViolation("horizon_months", "must be between 1 and 24", "OUT_OF_RANGE"))
        horizon = 1
    cutoffs = sorted(set(req.as_of))
    if not cutoffs:
        bad.append(FieldViolation("as_of", "at least one training cut-off is required", "REQUIRED"))
    if len(cutoffs) > MAX_CUTOFFS:
        bad.append(FieldViolation("as_of", f"at most {MAX_CUTOFFS} cut-offs", "OUT_OF_RANGE"))
    holdout = req.holdout_as_of
    if holdout is None and cutoffs:
        if len(cutoffs) < 2:
            bad.append(FieldViolation("holdout_as_of", "required when only one training cut-off is given", "REQUIRED"))
        else:
            holdout, cutoffs = cutoffs[-1], cutoffs[:-1]
    if holdout is not None:
        for i, c in enumerate(cutoffs):
            if window_end(c, horizon) > holdout:
                bad.append(
                    FieldViolation(
                        f"as_of[{i}]",
                        f"its label window ({horizon} months) reaches past the holdout cut-off; "
                        "training labels would overlap the holdout period",
                        "OVERLAPS_HOLDOUT",
                    )
                )
    now = ctx.clock()
    if holdout is not None and window_end(holdout, horizon) > utc(now):
        bad.append(
            FieldViolation("holdout_as_of", f"its {horizon}-month label window has not ended yet", "OUT_OF_RANGE")
        )
    if req.auto_promote == IF_BETTER and req.min_gain < 0:
        bad.append(FieldViolation("auto_promote_min_gain", "must be >= 0", "OUT_OF_RANGE"))
    try:
        params = parse_params(req.parameters, req.kind)
    except InvalidArgument as err:
        bad.extend(err.violations)
        params = TrainParams()
    if bad:
        raise InvalidArgument(bad)
    assert holdout is not None
    return Plan(req.kind, cutoffs, holdout, horizon, params)


def _collect_features(ctx: Context, as_of: pd.Timestamp) -> FeatureFrame:
    """Every active account's features as of a cut-off, in one frame."""

    async def collect() -> FeatureFrame:
        frames: list[pd.DataFrame] = []
        descriptions: dict[str, str] = {}
        async for batch in ctx.source.export_features(as_of.to_pydatetime()):
            frames.append(batch.frame)
            descriptions.update(batch.descriptions)
        frame = pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame(columns=["customer_id"])
        return FeatureFrame(as_of.to_pydatetime(), frame, descriptions)

    return ctx.call(collect())


def _outcomes(ctx: Context, plan: Plan) -> Outcomes:
    """Label facts from the month before the first cut-off to the end of the holdout window."""
    first = add_months(month_str(plan.train_cutoffs[0] if plan.train_cutoffs else plan.holdout), -1)
    last = window_months(plan.holdout, plan.horizon)[-1]
    outcomes = ctx.call(ctx.source.export_outcomes(first, last))
    # Facts are complete up to the start of the current month, or after the last billed month.
    now_month = utc(f"{month_str(utc(ctx.clock()))}-01")
    latest = outcomes.revenue["month"].max() if len(outcomes.revenue) else None
    data_end = min(now_month, utc(f"{add_months(latest, 1)}-01")) if latest else now_month
    return Outcomes(outcomes.revenue, outcomes.lifecycle, data_end)


def _trainer(ctx: Context) -> tuple[Callable[..., Any], Callable[[], None]]:
    """The local trainer, or a Dask one when a scheduler is configured (with its closer)."""
    address = ctx.config.dask_scheduler_address
    if not address:
        return functools.partial(local_trainer, threads=ctx.config.training_threads), lambda: None
    from distributed import Client

    from ..domain.distributed import dask_trainer

    client = Client(address, timeout="30s")
    return dask_trainer(client), client.close


@contextlib.contextmanager
def _training_slot(ctx: Context, progress: Any) -> Iterator[None]:
    """Hold the service's one training slot: a job whose fits would share the cores waits."""
    if not ctx.training_slot.acquire(blocking=False):
        progress.update(message="waiting for another training job to finish its fits")
        ctx.training_slot.acquire()
    try:
        yield
    finally:
        ctx.training_slot.release()


def champion_primary_on(ctx: Context, kind: str, holdout: pd.DataFrame) -> tuple[float | None, str]:
    """The champion's primary metric on a holdout frame (None without a champion)."""
    champ = ctx.serving.current.get(kind)
    if champ is None:
        return None, ""
    pred = champ.model.predict_frame(holdout)
    y = holdout["label"].to_numpy(dtype=float)
    metrics = churn_metrics(y, pred) if kind == CHURN else value_metrics(y, pred)
    return metrics.primary(), champ.model_id


def champion_saw_holdout(ctx: Context, champion_id: str, lineage: dict[str, Any]) -> float | None:
    """The champion's registered primary metric when its served fit may hold this holdout's rows.

    A champion refitted on every row (`served_rows` beyond its early-stopping split) was fitted
    on its training cut-offs and its own holdout: scored on one of them it would look better
    than it is. Then the comparison takes the metric it was registered with (its own honest
    holdout) instead. For profile models that is when the new holdout cut-off is one the
    champion was fitted on; with a table on either side the rows cannot be told apart, so
    always. None: score the champion on the new holdout as before.
    """
    champ = ctx.store.get_model(champion_id, with_blobs=False)
    lin = champ.lineage
    refitted = int(lin.get("served_rows", 0)) > int(lin.get("train_rows", 0)) + int(lin.get("validation_rows", 0))
    if not refitted:
        return None
    if lineage.get("source") == "profile" and lin.get("source") == "profile":
        seen = {*lin.get("as_of", []), lin.get("holdout_as_of")}
        if lineage.get("holdout_as_of") not in seen:
            return None
    value = champ.metrics.get("roc_auc" if champ.kind == CHURN else "spearman")
    return None if value is None else float(value)


def register(
    ctx: Context,
    fitted: Fitted,
    lineage: dict[str, Any],
    holdout_df: pd.DataFrame,
    *,
    rule: str,
    min_gain: float,
    description: str,
    job_id: str,
) -> ModelRecord:
    """Store a fitted model and apply the auto-promotion rule."""
    now = ctx.clock()
    record = make_record(
        new_model_id(fitted.model.kind, now), fitted, lineage, description=description, job_id=job_id, now=now
    )
    champion = ctx.serving.current.get(record.kind)
    own = champion_saw_holdout(ctx, champion.model_id, lineage) if champion is not None else None
    champion_primary: float | None
    if own is not None:
        champion_primary, champion_on = own, "on its own holdout (it was fitted on this one's rows)"
    else:
        champion_primary, champion_on = champion_primary_on(ctx, record.kind, holdout_df)[0], "on the same holdout"
    metric_name = "ROC-AUC" if record.kind == CHURN else "Spearman"
    promote, note = promotion_decision(
        rule,
        fitted.metrics.primary(),
        champion_primary,
        min_gain,
        metric_name,
        fitted.metrics.baseline_primary(),
        champion_on=champion_on,
    )
    record.promotion_note = note
    ctx.store.add_model(record)
    if promote:
        promoted = ctx.store.promote(record.model_id, ctx.clock())
        ctx.serving.install(promoted)
        return promoted
    return record


def run_training(ctx: Context, plan: Plan, req: TrainRequest, job_id: str, progress: Any) -> str:
    """The TrainModel job body; returns the new model id."""
    steps = len(plan.train_cutoffs) + 3
    progress.update(done=0, total=steps, message="fetching label facts from profile")
    started = time.perf_counter()
    outcomes = _outcomes(ctx, plan)
    progress.update(done=1, message="building training sets")
    frames: list[pd.DataFrame] = []
    descriptions: dict[str, str] = {}
    for c in plan.train_cutoffs:
        ff = _collect_features(ctx, c)
        descriptions.update(ff.descriptions)
        frames.append(build_training_set(ff.frame, outcomes, c, plan.horizon, plan.kind, plan.params.value_target))
        progress.advance(1, message=f"training set for cut-off {c.date()}: {len(frames[-1])} accounts")
    train_df = stack_training_sets(frames)
    hold_ff = _collect_features(ctx, plan.holdout)
    descriptions.update(hold_ff.descriptions)
    holdout_df = build_training_set(
        hold_ff.frame, outcomes, plan.holdout, plan.horizon, plan.kind, plan.params.value_target
    )
    data_seconds = time.perf_counter() - started
    progress.advance(1, message=f"holdout {plan.holdout.date()}: {len(holdout_df)} accounts; training")
    trainer, close = _trainer(ctx)
    try:
        with _training_slot(ctx, progress):
            fitted = fit_and_evaluate(
                plan.kind,
                train_df,
                holdout_df,
                plan.params,
                horizon_months=plan.horizon,
                descriptions=descriptions,
                trainer=trainer,
                progress=lambda msg: progress.update(message=msg),
                threads=ctx.config.training_threads,
            )
    finally:
        close()
    lineage = {
        "source": "profile",
        "as_of": [c.isoformat() for c in plan.train_cutoffs],
        "holdout_as_of": plan.holdout.isoformat(),
        "horizon_months": plan.horizon,
        "window_start": add_months(month_str(plan.train_cutoffs[0]), -12) + "-01",
        "window_end": plan.train_cutoffs[-1].isoformat(),
        "data_seconds": round(data_seconds, 3),
        "data_fingerprint": frame_fingerprint(train_df),
    }
    record = register(
        ctx,
        fitted,
        lineage,
        holdout_df,
        rule=req.auto_promote,
        min_gain=req.min_gain,
        description=req.description,
        job_id=job_id,
    )
    progress.update(done=steps, message=f"registered {record.model_id} v{record.version}; {record.promotion_note}")
    return record.model_id


def table_column_violations(req: TableRequest) -> list[FieldViolation]:
    """The named columns must be distinct, and none of them excluded.

    The id column is kept out of the features and the label becomes the target: a label
    that is also the id (or the time column) has no column left to learn from, and used to
    fail inside the job with a raw KeyError.
    """
    bad: list[FieldViolation] = []
    named = [("id_column", req.id_column), ("label_column", req.label_column), ("time_column", req.time_column)]
    for i, (field_a, col_a) in enumerate(named):
        for field_b, col_b in named[:i]:
            if col_a and col_a == col_b:
                bad.append(
                    FieldViolation(
                        field_a, f"names the same column as {field_b}; each role needs its own column", "SAME_COLUMN"
                    )
                )
    roles = {col: f for f, col in named if col}
    for i, col in enumerate(req.exclude_columns):
        if col in roles:
            bad.append(
                FieldViolation(
                    f"exclude_columns[{i}]", f"is the {roles[col]}; it cannot also be excluded", "SAME_COLUMN"
                )
            )
    return bad


def confined_table_path(import_dir: str, path: str) -> pathlib.Path:
    """The file a TrainFromTable `path` names inside the import directory, resolved.

    Absolute paths, `..` and links that lead out of the directory are refused with the same
    answer whether or not the target exists, and no answer ever quotes the path or the file,
    so the server's files can neither be read nor probed.
    """
    if not import_dir:
        raise InvalidArgument(
            FieldViolation("path", "server-side tables are off on this server: send the file's content", NOT_ALLOWED)
        )
    base = pathlib.Path(import_dir).resolve()
    try:
        candidate = (base / path).resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
        candidate = base
    if not candidate.is_relative_to(base) or candidate == base:
        raise InvalidArgument(FieldViolation("path", "must name a file inside the table import directory", NOT_ALLOWED))
    if not candidate.is_file():
        raise InvalidArgument(FieldViolation("path", "no such file in the table import directory", UNKNOWN_ID))
    return candidate


def read_confined(path: str) -> bytes:
    """The bytes of a resolved table path; a link swapped in since it was resolved is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InvalidArgument(FieldViolation("path", "the table file cannot be read", NOT_READABLE)) from exc


def validate_table_request(req: TableRequest) -> tuple[str, TrainParams]:
    """Check a TrainFromTable request before a job starts; returns (format, params)."""
    bad: list[FieldViolation] = []
    if not req.content and not req.path:
        bad.append(FieldViolation("table", "give a path or the file's content", "REQUIRED"))
    if not req.id_column:
        bad.append(FieldViolation("id_column", "is required", "REQUIRED"))
    if not req.label_column:
        bad.append(FieldViolation("label_column", "is required", "REQUIRED"))
    bad.extend(table_column_violations(req))
    if req.kind not in (CHURN, VALUE):
        bad.append(FieldViolation("kind", "must be churn or value", "INVALID_VALUE"))
    if not 0 <= req.holdout_fraction < 1:
        bad.append(FieldViolation("holdout_fraction", "must be in [0, 1)", "OUT_OF_RANGE"))
    fmt = req.format
    if req.content and not fmt:
        bad.append(FieldViolation("format", "required when the content is sent inline", "REQUIRED"))
    try:
        params = parse_params(req.parameters, req.kind)
    except InvalidArgument as err:
        bad.extend(err.violations)
        params = TrainParams()
    if bad:
        raise InvalidArgument(bad)
    if req.path:
        fmt = detect_format(req.path, fmt)
    return fmt or CSV, params


def run_table_training(
    ctx: Context, req: TableRequest, fmt: str, params: TrainParams, job_id: str, progress: Any
) -> str:
    """The TrainFromTable job body; returns the new model id."""
    progress.update(done=0, total=3, message="reading the table")
    content = req.content
    if req.path:
        content = read_confined(req.path)
    table = read_table(content, fmt)
    split = prepare_table(
        table,
        content,
        id_column=req.id_column,
        label_column=req.label_column,
        kind=req.kind,
        time_column=req.time_column,
        holdout_fraction=req.holdout_fraction,
        exclude=tuple(req.exclude_columns),
        seed=int(params.lgbm.get("seed", 17)),
    )
    progress.update(done=1, message=f"{split.rows} rows; holdout {len(split.holdout)} ({split.holdout_rule}); training")
    trainer, close = _trainer(ctx)
    try:
        with _training_slot(ctx, progress):
            fitted = fit_and_evaluate(
                req.kind,
                split.train,
                split.holdout,
                params,
                with_baseline=False,
                trainer=trainer,
                progress=lambda msg: progress.update(message=msg),
                threads=ctx.config.training_threads,
            )
    finally:
        close()
    progress.update(done=2, message="registering")
    lineage = {
        "source": "table",
        "horizon_months": 0,
        "data_fingerprint": split.fingerprint,
        "table_path": req.path,
        "id_column": req.id_column,
        "label_column": req.label_column,
        "holdout_rule": split.holdout_rule,
    }
    record = register(
        ctx,
        fitted,
        lineage,
        split.holdout,
        rule=req.auto_promote,
        min_gain=req.min_gain,
        description=req.description,
        job_id=job_id,
    )
    progress.update(done=3, message=f"registered {record.model_id} v{record.version}; {record.promotion_note}")
    return record.model_id


def rule_from(name: str) -> str:
    """Normalise an auto-promotion rule name."""
    return name if name in (NEVER, IF_BETTER, ALWAYS) else NEVER


class TrainUseCases(UseCases):
    """TrainModel and TrainFromTable: validate, then start the job."""

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
        if req.path:  # confined first: a path outside gets no other answer, e.g. about its format
            req = dataclasses.replace(req, path=str(confined_table_path(self.ctx.config.table_import_dir, req.path)))
        fmt, params = validate_table_request(req)
        return await self._db_run(
            self._start_job,
            "train_from_table",
            lambda job_id, progress: run_table_training(self.ctx, req, fmt, params, job_id, progress),
        )
