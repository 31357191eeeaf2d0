"""`telco360 services up|down|status`: the whole suite as local processes on SQLite."""

from __future__ import annotations

import pathlib

import typer
from rich.table import Table

from telco360_cli.config import DEFAULT_PORTS, SERVICES
from telco360_cli.console import console, err_console
from telco360_cli.errors import CliError
from telco360_cli.processes import LocalSuite
from telco360_runtime import devpki

group = typer.Typer(help="Run the four services locally (SQLite stores under the var directory).", no_args_is_help=True)


def _suite(
    ctx: typer.Context, base_port: int | None, *, secure: bool = False, workers: int | None = None
) -> LocalSuite:
    var_dir: pathlib.Path = ctx.meta.get("var_dir") or pathlib.Path("var")
    ports = {name: base_port + i for i, name in enumerate(SERVICES)} if base_port else dict(DEFAULT_PORTS)
    # Secure like production: mutual TLS and JWT from a development PKI kept under the var directory.
    pki = devpki.create(var_dir / "pki") if secure else None
    # Unset: each service's own `workers` setting (its environment, else the default).
    extra_env = {"TELCO360_{SVC}_WORKERS": str(workers)} if workers is not None else None
    return LocalSuite(var_dir, ports, pki=pki, extra_env=extra_env)


@group.command("up")
def up(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="services to start (default: all four)"),
    base_port: int = typer.Option(0, help="first port (ingest; then profile, scoring, contact); 0 = 50051..50054"),
    timeout: float = typer.Option(90.0, help="seconds to wait for each service to report SERVING"),
    insecure: bool = typer.Option(False, help="plaintext and no authentication (local development only)"),
    workers: int | None = typer.Option(
        None,
        min=0,
        help="worker processes per service on its port; 0 = the CPUs available "
        "(default: TELCO360_<SVC>_WORKERS, else one process on the local SQLite stores)",
    ),
) -> None:
    """Start ingest, profile, scoring and contact (mutual TLS and JWT on); wait until each reports SERVING."""
    suite = _suite(ctx, base_port or None, secure=not insecure, workers=workers)
    unknown = sorted(set(names or ()) - set(SERVICES))
    if unknown:
        raise typer.BadParameter(f"unknown services {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    try:
        with console.status("starting services…"):
            suite.start(tuple(names or SERVICES), timeout=timeout)
    except CliError as error:
        err_console.print(f"[bold red]error[/] {error}")
        raise typer.Exit(1) from None
    _print_status(suite)


@group.command("down")
def down(ctx: typer.Context, grace: float = typer.Option(30.0, help="seconds to wait after SIGTERM")) -> None:
    """Stop the local services (SIGTERM, then wait for them to exit)."""
    suite = _suite(ctx, None)
    outcome = suite.stop(grace=grace)
    if not outcome:
        console.print("no services recorded under", suite.var_dir)
    for name, how in outcome.items():
        console.print(f"{name:8} {how}")


@group.command("status")
def status(ctx: typer.Context) -> None:
    """Show pid, port and gRPC health of each local service."""
    suite = _suite(ctx, None)
    rows = _print_status(suite)
    if not all(row["health"] == "SERVING" for row in rows):
        raise typer.Exit(1)


def _print_status(suite: LocalSuite) -> list[dict[str, object]]:
    rows = suite.status()
    table = Table(title=f"Telco360 services ({suite.var_dir})")
    for column in ("service", "pid", "port", "health", "log"):
        table.add_column(column)
    for row in rows:
        colour = "green" if row["health"] == "SERVING" else "red"
        table.add_row(
            str(row["service"]),
            str(row["pid"] or "-"),
            str(row["port"]),
            f"[{colour}]{row['health']}[/]",
            str(row["log"]),
        )
    console.print(table)
    return rows


def register(app: typer.Typer) -> None:
    """Add the group to the application."""
    app.add_typer(group, name="services")
