"""The Typer application: global connection options and the command groups."""

from __future__ import annotations

import pathlib
import sys

import typer

from telco360_cli import config as cfg
from telco360_cli.commands import analytics, audit, contact, demo, erase, ingest, pki, profile, scoring, services, token
from telco360_cli.console import err_console
from telco360_cli.errors import CliError, print_error

app = typer.Typer(
    help="Telco360: the key-account suite from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def connect(
    ctx: typer.Context,
    ingest_addr: str | None = typer.Option(None, help="ingest host:port (env TELCO360_CLI_INGEST_ADDR)"),
    profile_addr: str | None = typer.Option(None, help="profile host:port (env TELCO360_CLI_PROFILE_ADDR)"),
    scoring_addr: str | None = typer.Option(None, help="scoring host:port (env TELCO360_CLI_SCORING_ADDR)"),
    contact_addr: str | None = typer.Option(None, help="contact host:port (env TELCO360_CLI_CONTACT_ADDR)"),
    token: str | None = typer.Option(
        None, help="bearer token, visible in the process list: prefer --token-file (env TELCO360_CLI_TOKEN)"
    ),
    token_file: pathlib.Path | None = typer.Option(
        None, help="file holding the bearer token (env TELCO360_CLI_TOKEN_FILE)"
    ),
    tls_ca: pathlib.Path | None = typer.Option(
        None, help="CA certificate of the services: turns TLS on (env TELCO360_CLI_TLS_CA)"
    ),
    tls_cert: pathlib.Path | None = typer.Option(
        None, help="client certificate for mutual TLS (env TELCO360_CLI_TLS_CERT)"
    ),
    tls_key: pathlib.Path | None = typer.Option(None, help="key of --tls-cert (env TELCO360_CLI_TLS_KEY)"),
    var_dir: pathlib.Path = typer.Option(cfg.default_var_dir(), help="var directory of `services up` (ports, logs)"),
    timeout: float = typer.Option(30.0, help="seconds per call (long work runs as jobs)"),
) -> None:
    """Resolve where the services are before any command runs."""
    overrides = {"ingest": ingest_addr, "profile": profile_addr, "scoring": scoring_addr, "contact": contact_addr}
    tls = cfg.resolve_tls(tls_ca, tls_cert, tls_key)
    ctx.obj = cfg.resolve(overrides, token=token, var_dir=var_dir, timeout=timeout, token_file=token_file, tls=tls)
    ctx.meta["var_dir"] = var_dir


services.register(app)
ingest.register(app)
profile.register(app)
scoring.register(app)
contact.register(app)
demo.register(app)
pki.register(app)
token.register(app)
audit.register(app)
erase.register(app)
analytics.register(app)


def main() -> None:
    """Console entry point (`telco360`): a failure found outside a call still prints as words."""
    try:
        app()
    except (CliError, OSError, ValueError) as error:
        print_error(err_console, error)
        sys.exit(1)
