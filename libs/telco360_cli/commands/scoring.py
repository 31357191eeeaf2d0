"""`telco360 train`, `models list|promote`, `report`, `score` (the scoring service)."""

from __future__ import annotations

import csv
import pathlib
import webbrowser
from typing import Any

import typer
from rich.table import Table

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2
from telco360_cli import fmt
from telco360_cli.console import console, progress_bar, run_command
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients, wait_job
from telco360_runtime.timeconv import to_timestamp

models_group = typer.Typer(help="The model registry.", no_args_is_help=True)
KIND = scoring_pb2.ModelKind


def _against(metrics: Any, field: str, digits: int) -> str:
    """ " (baseline x)" when the model's metrics hold that baseline; "" when none was computed
    (a brought table has no fee history to build one from)."""
    if not metrics.HasField(field):
        return ""
    return f" (baseline {getattr(metrics, field):.{digits}f})"


def metric_line(model: scoring_pb2.Model) -> str:
    """The headline holdout metrics of a model, against its baseline when it has one."""
    if model.HasField("churn_metrics"):
        churn = model.churn_metrics
        return (
            f"ROC-AUC {churn.roc_auc:.3f}{_against(churn, 'baseline_roc_auc', 3)}, PR-AUC {churn.pr_auc:.3f}, "
            f"top-decile lift {churn.lift_top10:.2f}{_against(churn, 'baseline_lift_top10', 2)}, "
            f"capture {fmt.percent(churn.capture_top10)}, base rate {fmt.percent(churn.base_rate)}"
        )
    if model.HasField("value_metrics"):
        value = model.value_metrics
        return (
            f"Spearman {value.spearman:.3f}{_against(value, 'baseline_spearman', 3)}, R² {value.r2:.3f}, "
            f"MAE {fmt.yuan_short(value.mae)}, top-decile revenue share {fmt.percent(value.top_decile_revenue_share)} "
            f"(ideal {fmt.percent(value.top_decile_revenue_share_ideal)})"
        )
    return "(no metrics)"


async def run_job(clients: Clients, job: common_pb2.Job, label: str, timeout: float = 3600) -> common_pb2.Job:
    """Wait for a scoring job with a progress bar; raise when it did not succeed."""
    with progress_bar() as bar:
        task = bar.add_task(label, total=None)

        def show(j: common_pb2.Job) -> None:
            bar.update(
                task,
                completed=j.done,
                total=j.total or None,
                description=f"{label}: {j.message}" if j.message else label,
            )

        job = await wait_job(clients.scoring.GetJob, job, show, timeout=timeout)
    if job.state != common_pb2.JOB_STATE_SUCCEEDED:
        raise CliError(
            f"{label} job {job.job_id} ended {fmt.enum_name(common_pb2.JobState, job.state)}: "
            f"{job.error_message or job.message}"
        )
    return job


async def train_model(clients: Clients, request: scoring_pb2.TrainModelRequest, label: str) -> scoring_pb2.Model:
    """Start training, wait for the job, return the registered model."""
    job = await run_job(clients, await clients.scoring.TrainModel(request), label)
    return await clients.scoring.GetModel(scoring_pb2.GetModelRequest(model_id=job.result_ref))


def table_format(path: pathlib.Path) -> scoring_pb2.TableFormat:
    """Parquet for .parquet / .pq files, CSV otherwise."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return scoring_pb2.TABLE_FORMAT_PARQUET
    return scoring_pb2.TABLE_FORMAT_CSV


def _params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--param {item!r} must be name=value")
        params[name.strip()] = value.strip()
    return params


def train(
    ctx: typer.Context,
    kind: str = typer.Option("churn", help="churn or value"),
    as_of: list[str] = typer.Option([], "--as-of", help="training cut-off date (repeatable)"),
    holdout: str = typer.Option("", help="holdout cut-off date (later than every training cut-off)"),
    horizon: int = typer.Option(0, help="label horizon in months (0 = 3 for churn, 12 for value)"),
    table: pathlib.Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="train on your own labelled CSV/Parquet table"
    ),
    id_column: str = typer.Option("customer_id", help="with --table: id column"),
    label_column: str = typer.Option("label", help="with --table: label column"),
    time_column: str = typer.Option("", help="with --table: time column for a time-based holdout"),
    exclude: list[str] = typer.Option([], "--exclude", help="with --table: column to leave out (repeatable)"),
    param: list[str] = typer.Option([], "--param", help="LightGBM parameter name=value (repeatable)"),
    promote: str = typer.Option("never", help="auto-promote: never (the default, as in the API), if-better, always"),
    description: str = typer.Option("", help="stored with the model"),
) -> None:
    """Train a churn or value model (from profile's history, or from your own table)."""
    model_kind = fmt.enum_value(KIND, kind)
    auto = fmt.enum_value(scoring_pb2.AutoPromote, promote)

    async def run(clients: Clients) -> scoring_pb2.Model:
        if table is not None:
            table_request = scoring_pb2.TrainFromTableRequest(
                content=table.read_bytes(),
                format=table_format(table),
                id_column=id_column,
                label_column=label_column,
                kind=model_kind,
                time_column=time_column,
                exclude_columns=exclude,
                parameters=_params(param),
                auto_promote=auto,
                description=description or f"table {table.name}",
            )
            job = await run_job(
                clients, await clients.scoring.TrainFromTable(table_request), f"training on {table.name}"
            )
            return await clients.scoring.GetModel(scoring_pb2.GetModelRequest(model_id=job.result_ref))
        if not as_of:
            raise CliError("name at least one training cut-off with --as-of (or bring a --table)")
        request = scoring_pb2.TrainModelRequest(
            kind=model_kind,
            horizon_months=horizon,
            parameters=_params(param),
            auto_promote=auto,
            description=description,
        )
        request.as_of.extend(to_timestamp(fmt.parse_time(d)) for d in as_of)
        if holdout:
            request.holdout_as_of.CopyFrom(to_timestamp(fmt.parse_time(holdout)))
        return await train_model(clients, request, f"training {kind}")

    model = run_command(ctx.obj, run)
    console.print(
        f"model [bold]{model.model_id}[/] ({fmt.enum_name(KIND, model.kind)} v{model.version}, "
        f"{fmt.enum_name(scoring_pb2.ModelStatus, model.status)})"
    )
    console.print("  " + metric_line(model))
    if model.promotion_note:
        console.print(f"  {model.promotion_note}")


async def list_models(
    clients: Clients, kind: scoring_pb2.ModelKind = scoring_pb2.MODEL_KIND_UNSPECIFIED
) -> list[scoring_pb2.Model]:
    """Every registered model, newest first."""
    found: list[scoring_pb2.Model] = []
    token = ""
    while True:
        request = scoring_pb2.ListModelsRequest(kind=kind)
        request.page.page_size = 200
        request.page.page_token = token
        reply = await clients.scoring.ListModels(request)
        found.extend(reply.models)
        token = reply.page.next_page_token
        if not token:
            return found


@models_group.command("list")
def models_list(ctx: typer.Context, kind: str = typer.Option("", help="churn or value; empty = both")) -> None:
    """List model versions with status and holdout metrics."""
    models = run_command(
        ctx.obj, lambda c: list_models(c, fmt.enum_value(KIND, kind) if kind else KIND.MODEL_KIND_UNSPECIFIED)
    )
    table = Table(title="Models (newest first)")
    for column in ("model", "kind", "v", "status", "created", "metrics"):
        table.add_column(column, overflow="fold")
    for m in models:
        table.add_row(
            m.model_id,
            fmt.enum_name(KIND, m.kind),
            str(m.version),
            fmt.enum_name(scoring_pb2.ModelStatus, m.status),
            fmt.when(m.created_at),
            metric_line(m),
        )
    console.print(table)


@models_group.command("promote")
def models_promote(ctx: typer.Context, model_id: str) -> None:
    """Make a model the champion of its kind."""
    model = run_command(ctx.obj, lambda c: c.scoring.PromoteModel(scoring_pb2.PromoteModelRequest(model_id=model_id)))
    console.print(f"{model.model_id} is now {fmt.enum_name(scoring_pb2.ModelStatus, model.status)}")


async def fetch_report(clients: Clients, model_id: str, out_dir: pathlib.Path) -> pathlib.Path:
    """Fetch a model's HTML evaluation report and write it under out_dir."""
    reply = await clients.scoring.GetReport(
        scoring_pb2.GetReportRequest(model_id=model_id, include_html=True), timeout=300
    )
    if not reply.html:
        raise CliError(f"scoring returned no HTML for {model_id}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"report-{model_id}.html"
    path.write_bytes(reply.html)
    return path.resolve()


async def champions(clients: Clients) -> list[scoring_pb2.Model]:
    """The current champion of each kind."""
    return [m for m in await list_models(clients) if m.status == scoring_pb2.MODEL_STATUS_CHAMPION]


def report(
    ctx: typer.Context,
    model_id: list[str] = typer.Argument(None, help="models; empty = the champions"),
    out: pathlib.Path = typer.Option(pathlib.Path("out"), help="directory for the HTML files"),
    open_it: bool = typer.Option(False, "--open", help="also open the reports in the default browser"),
) -> None:
    """Write models' HTML evaluation reports and print their paths (--open shows them)."""

    async def run(clients: Clients) -> list[pathlib.Path]:
        ids = list(model_id or [m.model_id for m in await champions(clients)])
        if not ids:
            raise CliError("no champion models yet; train one (`telco360 train`) or name a model")
        return [await fetch_report(clients, mid, out) for mid in ids]

    for path in run_command(ctx.obj, run):
        console.print(str(path), highlight=False)
        if open_it and not webbrowser.open(path.as_uri()):
            console.print("  (no browser available here; open the path above)")


def render_scores(scores: list[scoring_pb2.AccountScore]) -> None:
    """Scores with their top reasons."""
    table = Table(title="Scores", caption=f"{fmt.PREDICTED_TIER}: {fmt.PREDICTED_TIER_HINT}")
    for column in ("account", "churn", "band", "value", fmt.PREDICTED_TIER, "why (churn)", "why (value)"):
        table.add_column(column, overflow="fold")
    for s in scores:
        if s.status != scoring_pb2.SCORE_STATUS_OK:
            table.add_row(
                s.customer_id, fmt.enum_name(scoring_pb2.ScoreStatus, s.status), "", "", "", s.error_message, ""
            )
            continue
        table.add_row(
            s.customer_id,
            fmt.percent(s.churn_probability),
            fmt.risk(s.risk_band),
            fmt.yuan_short(s.predicted_value_fen),
            fmt.tier(s.value_tier),
            "\n".join(r.phrase for r in s.churn_reasons),
            "\n".join(r.phrase for r in s.value_reasons),
        )
    console.print(table)


async def score_table(
    clients: Clients,
    table: pathlib.Path,
    *,
    model_id: str,
    kind: scoring_pb2.ModelKind,
    id_column: str,
    exclude: list[str],
) -> tuple[scoring_pb2.Model, scoring_pb2.ScoreFeaturesResponse]:
    """Score a CSV/Parquet table through ScoreTable (read by the server the way TrainFromTable
    reads tables); returns the model used and the scores in row order."""
    reply = await clients.scoring.ScoreTable(
        scoring_pb2.ScoreTableRequest(
            content=table.read_bytes(),
            format=table_format(table),
            model_id=model_id,
            kind=kind,
            id_column=id_column,
            exclude_columns=exclude,
        ),
        timeout=600,
    )
    return await clients.scoring.GetModel(scoring_pb2.GetModelRequest(model_id=reply.model_id)), reply


def write_table_scores(
    out: pathlib.Path, model: scoring_pb2.Model, reply: scoring_pb2.ScoreFeaturesResponse, id_column: str
) -> None:
    """The scores as CSV: the id column (when the table has one), then the churn probability
    and risk band, or the predicted value (fen) and value tier."""
    churn = model.kind == KIND.MODEL_KIND_CHURN
    header = ["score", "risk_band"] if churn else ["predicted_value_fen", "value_tier"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([id_column, *header] if id_column else header)
        for s in reply.scores:
            label = (
                fmt.enum_name(common_pb2.RiskBand, s.risk_band)
                if churn
                else fmt.enum_name(common_pb2.AccountTier, s.value_tier)
            )
            row = [repr(s.score), label]
            writer.writerow([s.row_id, *row] if id_column else row)


def score(
    ctx: typer.Context,
    customer_ids: list[str] = typer.Argument(None, help="accounts to score now"),
    all_accounts: bool = typer.Option(False, "--all", help="batch-score the whole base (a job)"),
    reasons: int = typer.Option(3, help="reasons per account"),
    table: pathlib.Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="score the rows of a CSV/Parquet table (as --table of train reads it)"
    ),
    model: str = typer.Option("", "--model", help="with --table: model id (empty = the champion of --kind)"),
    kind: str = typer.Option("churn", help="with --table and no --model: churn or value champion"),
    id_column: str = typer.Option("customer_id", help="with --table: id column copied to the output ('' = none)"),
    exclude: list[str] = typer.Option([], "--exclude", help="with --table: column to leave out (repeatable)"),
    out: pathlib.Path | None = typer.Option(None, "--out", help="with --table: CSV file for the scores"),
) -> None:
    """Score accounts with the champion models (with reasons), the whole base with --all, or a
    table's rows with --table FILE --out pred.csv."""
    if table is not None:
        if customer_ids or all_accounts:
            raise typer.BadParameter("--table scores a table's rows; name no accounts and no --all with it")
        if out is None:
            raise typer.BadParameter("--table needs --out FILE for the scores")
        model_kind = fmt.enum_value(KIND, kind)
        used, reply = run_command(
            ctx.obj,
            lambda c: score_table(
                c, table, model_id=model, kind=model_kind, id_column=id_column, exclude=list(exclude)
            ),
        )
        write_table_scores(out, used, reply, id_column)
        console.print(
            f"scored {len(reply.scores):,} rows of {table.name} with {used.model_id} "
            f"({fmt.enum_name(KIND, used.kind)} v{used.version}) -> {out}",
            highlight=False,
        )
        if reply.missing_features:
            console.print(f"  {len(reply.missing_features)} model features not in the table (scored as missing)")
        return
    if not customer_ids and not all_accounts:
        raise typer.BadParameter("name accounts, use --all, or score a --table")

    async def run(clients: Clients):
        if all_accounts:
            job = await run_job(
                clients, await clients.scoring.ScoreAll(scoring_pb2.ScoreAllRequest()), "scoring the base"
            )
            return job
        reply = await clients.scoring.ScoreCustomers(
            scoring_pb2.ScoreCustomersRequest(customer_ids=customer_ids, top_reasons=reasons)
        )
        return list(reply.scores)

    result = run_command(ctx.obj, run)
    if all_accounts:
        console.print(f"scored {result.done:,} accounts (batch {result.result_ref})")
    else:
        render_scores(result)


def register(app: typer.Typer) -> None:
    """Add the commands to the application."""
    app.command("train")(train)
    app.add_typer(models_group, name="models")
    app.command("report")(report)
    app.command("score")(score)
