"""`telco360 demo`: the main job end to end on SQLite (what `make demo` runs)."""

from __future__ import annotations

import pathlib

import typer

from telco360_cli.demo.runner import DemoOptions, run_demo


def demo(
    accounts: int = typer.Option(5000, help="key accounts to generate"),
    months: int = typer.Option(24, help="months of history to generate"),
    seed: int = typer.Option(7, help="seed of the data generator"),
    bad_records: int = typer.Option(40, help="malformed records mixed in (they land in quarantine)"),
    var_dir: pathlib.Path = typer.Option(pathlib.Path("var/demo"), help="fresh directory for the stores and logs"),
    out_dir: pathlib.Path = typer.Option(pathlib.Path("out"), help="where the summary and reports go"),
    keep_running: bool = typer.Option(False, help="leave the services running at the end"),
) -> None:
    """Run the whole key-account story on a generated base and write the reports."""
    options = DemoOptions(
        accounts=accounts,
        months=months,
        seed=seed,
        bad_records=bad_records,
        var_dir=var_dir,
        out_dir=out_dir,
        keep_running=keep_running,
    )
    raise typer.Exit(run_demo(options))


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("demo")(demo)
