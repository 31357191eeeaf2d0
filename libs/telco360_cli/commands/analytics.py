"""`telco360 analytics run|show|outliers|review`: scoring's base analytics (issue #19).

Clusters in words with their sizes, RFM segment counts and thresholds, CLV tiers, and the
accounts flagged as outliers with their reasons; a reviewer dismisses or confirms a flag.
"""

from __future__ import annotations

import math

import typer
from rich.table import Table

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2
from telco360_cli import fmt
from telco360_cli.commands.scoring import run_job
from telco360_cli.console import console, run_command
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime.timeconv import to_timestamp

analytics_app = typer.Typer(help="Base analytics: RFM, clusters, outliers, lifetime value.", no_args_is_help=True)


def _threshold(value: float, money: bool) -> str:
    if math.isnan(value):
        return "-"
    return fmt.yuan_short(value) if money else f"{value:g}"


def show_summary(summary: scoring_pb2.BaseAnalytics) -> None:
    """Print a run: clusters, RFM segments and thresholds, CLV tiers, outliers flagged."""
    console.print(
        f"run [bold]{summary.run_id}[/] ({fmt.when(summary.created_at)}): {summary.accounts} accounts, "
        f"k = {summary.k} (silhouette {summary.silhouette:.3f}; tried "
        + ", ".join(f"{c.k}: {c.silhouette:.3f}" for c in summary.candidates)
        + ")"
    )
    clusters = Table(title="Clusters")
    for column in ("label", "what distinguishes it", "accounts", "share"):
        clusters.add_column(column, overflow="fold")
    for c in summary.clusters:
        clusters.add_row(c.label, c.name, str(c.size), fmt.percent(c.size / max(summary.accounts, 1)))
    console.print(clusters)
    segments = Table(title="RFM segments")
    segments.add_column("segment")
    segments.add_column("accounts", justify="right")
    for s in summary.segments:
        segments.add_row(s.segment, str(s.accounts))
    console.print(segments)
    thresholds = Table(title="RFM thresholds (least value reaching each score)")
    for column in ("dimension", "2", "3", "4", "5"):
        thresholds.add_column(column)
    for r in summary.rfm:
        thresholds.add_row(r.dimension, *(_threshold(v, r.dimension == "monetary") for v in r.thresholds))
    console.print(thresholds)
    if summary.HasField("clv"):
        clv = summary.clv
        console.print(
            f"CLV tiers: top ≥ {fmt.yuan_short(clv.top_fen)}, high ≥ {fmt.yuan_short(clv.high_fen)}, "
            f"medium ≥ {fmt.yuan_short(clv.medium_fen)}, low below, negative < 0"
        )
    console.print(f"outliers flagged: [bold]{summary.outliers_flagged}[/] (telco360 analytics outliers)")


@analytics_app.command("run")
def run(
    ctx: typer.Context,
    as_of: str = typer.Option("", help="features as of this date (default now)"),
    skip_publish: bool = typer.Option(False, help="store the analytics without sending them to profile"),
) -> None:
    """Fit a new base analytics run over the whole base (without rescoring) and show it."""

    async def go(clients: Clients) -> scoring_pb2.BaseAnalytics:
        request = scoring_pb2.RunBaseAnalyticsRequest(skip_publish=skip_publish)
        if as_of:
            request.as_of.CopyFrom(to_timestamp(fmt.parse_time(as_of)))
        await run_job(clients, await clients.scoring.RunBaseAnalytics(request), "base analytics")
        return await clients.scoring.GetBaseAnalytics(scoring_pb2.GetBaseAnalyticsRequest())

    show_summary(run_command(ctx.obj, go))


@analytics_app.command("show")
def show(ctx: typer.Context) -> None:
    """Show the latest run: clusters in words, RFM segments, CLV tiers, outliers flagged."""
    show_summary(run_command(ctx.obj, lambda c: c.scoring.GetBaseAnalytics(scoring_pb2.GetBaseAnalyticsRequest())))


async def list_outliers(clients: Clients, include_dismissed: bool, limit: int) -> scoring_pb2.ListOutliersResponse:
    """Up to `limit` outliers of the latest run (pages followed), with the total."""
    out = scoring_pb2.ListOutliersResponse()
    token = ""
    while len(out.outliers) < limit:
        page = common_pb2.PageRequest(page_size=min(1000, limit - len(out.outliers)), page_token=token)
        reply = await clients.scoring.ListOutliers(
            scoring_pb2.ListOutliersRequest(page=page, include_dismissed=include_dismissed)
        )
        out.run_id = reply.run_id
        out.outliers.extend(reply.outliers)
        out.page.total_count = reply.page.total_count
        token = reply.page.next_page_token
        if not token:
            break
    return out


@analytics_app.command("outliers")
def outliers(
    ctx: typer.Context,
    include_dismissed: bool = typer.Option(False, help="also list flags a reviewer dismissed"),
    limit: int = typer.Option(100, min=1, max=100_000, help="most accounts to list"),
) -> None:
    """List the accounts flagged as outliers in the latest run, with the reasons in words."""
    reply = run_command(ctx.obj, lambda c: list_outliers(c, include_dismissed, limit))
    table = Table(title=f"Outliers of {reply.run_id} ({len(reply.outliers)} of {reply.page.total_count})")
    for column in ("account", "score", "reasons", "cluster", "state"):
        table.add_column(column, overflow="fold")
    for o in reply.outliers:
        a = o.assessment
        table.add_row(
            o.customer_id,
            f"{a.score:.2f}",
            "; ".join(a.reasons),
            o.cluster,
            "dismissed" if a.dismissed else "flagged",
        )
    console.print(table)


@analytics_app.command("review")
def review(
    ctx: typer.Context,
    customer_id: str,
    dismiss: bool = typer.Option(False, "--dismiss", help="not fraud or a data problem: stop flagging these reasons"),
    confirm: bool = typer.Option(False, "--confirm", help="confirmed: keep flagging the account"),
    note: str = typer.Option("", help="why (kept with the review)"),
) -> None:
    """Dismiss or confirm an account's outlier flag (a dismissal holds for its reasons)."""
    if dismiss == confirm:
        raise CliError("give exactly one of --dismiss and --confirm")
    decision = scoring_pb2.REVIEW_DECISION_DISMISS if dismiss else scoring_pb2.REVIEW_DECISION_CONFIRM
    request = scoring_pb2.ReviewOutlierRequest(customer_id=customer_id, decision=decision, note=note)
    stored = run_command(ctx.obj, lambda c: c.scoring.ReviewOutlier(request))
    console.print(
        f"{stored.customer_id}: {fmt.enum_name(scoring_pb2.ReviewDecision, stored.decision)} by {stored.reviewer} "
        f"({fmt.when(stored.reviewed_at)}) for {', '.join(stored.reason_codes) or 'no reason codes'}"
    )


def register(app: typer.Typer) -> None:
    """Add the command group to the application."""
    app.add_typer(analytics_app, name="analytics")
