"""Runs the main job step by step, timing each, stopping loudly at the first failure.

Every step talks to the real services over gRPC; a step whose service is missing or
fails makes the demo print the step, the server's status and message, and exit 1.
The services are always stopped at the end (SIGTERM, clean exit checked).
The suite runs the way production does: a development PKI under `<var_dir>/pki` (devpki)
gives every service mutual TLS and signed (JWT) identities for callers and peers, and the
demo's own calls carry the admin token and the CLI's client certificate.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import shutil
import time
import traceback
from dataclasses import dataclass

import grpc

from telco360_cli.config import SERVICES, CliConfig
from telco360_cli.console import console
from telco360_cli.demo import steps
from telco360_cli.demo.state import DemoState, result_record
from telco360_cli.errors import CliError, describe_rpc_error
from telco360_cli.processes import LocalSuite, tail
from telco360_cli.rpc import Clients
from telco360_runtime import devpki
from telco360_runtime.testing import free_port


@dataclass
class DemoOptions:
    """What the demo generates and where it writes."""

    accounts: int = 5000
    months: int = 24
    seed: int = 7
    bad_records: int = 40
    var_dir: pathlib.Path = pathlib.Path("var/demo")
    out_dir: pathlib.Path = pathlib.Path("out")
    keep_running: bool = False


class StepFailed(Exception):
    """A demo step failed (already reported)."""


def _report_failure(name: str, error: BaseException, suite: LocalSuite | None) -> None:
    console.rule(f"[bold red]FAILED: {name}")
    if isinstance(error, grpc.RpcError):
        for line in describe_rpc_error(error):
            console.print(f"[red]{line}[/]", highlight=False)
    elif isinstance(error, (CliError, AssertionError, TimeoutError)):
        console.print(f"[red]{type(error).__name__}: {error}[/]", highlight=False)
    else:
        # An unexpected error in the demo itself: the traceback is what a developer needs.
        console.print(f"[red]{''.join(traceback.format_exception(error))}[/]", highlight=False)
    if suite is not None:
        for name_ in SERVICES:
            log = suite.log_dir / f"{name_}.log"
            if log.exists():
                errors = [
                    line
                    for line in log.read_text(errors="replace").splitlines()
                    if '"level": "error"' in line or "Traceback" in line
                ]
                if errors:
                    console.print(f"[yellow]{name_} log ({log}) last errors:[/]")
                    console.print("\n".join(errors[-3:]), highlight=False, markup=False)


async def _run_steps(state: DemoState, clients: Clients) -> None:
    for name, step in steps.PIPELINE:
        console.rule(f"[bold cyan]{name}")
        began = time.monotonic()
        try:
            await step(state, clients)
        except BaseException as error:  # noqa: BLE001 - every failure is reported, then re-raised
            if isinstance(error, (KeyboardInterrupt, asyncio.CancelledError)):
                raise
            _report_failure(name, error, state.suite)
            raise StepFailed(name) from error
        seconds = time.monotonic() - began
        state.timings.append((name, seconds))
        console.print(f"[dim]{name}: {seconds:.1f} s[/]")


def run_demo(options: DemoOptions) -> int:
    """Run the main job; returns the process exit status (0 only when every step passed)."""
    began = time.monotonic()
    var_dir = options.var_dir.resolve()
    if var_dir.exists():
        shutil.rmtree(var_dir)
    var_dir.mkdir(parents=True)
    ports = {name: free_port() for name in SERVICES}
    pki = devpki.create(var_dir / "pki")
    # Contact answers the call centre within a 250 ms budget for profile and scoring lookups; on
    # one small machine that also runs the batch work (training, scoring) those lookups can take
    # longer, and the demo should show the answers, not the degraded fallbacks.
    suite = LocalSuite(
        var_dir,
        ports,
        extra_env={"TELCO360_{SVC}_SQLITE_SYNCHRONOUS": "NORMAL", "TELCO360_CONTACT_PEER_TIMEOUT_SECONDS": "2"},
        pki=pki,
    )
    state = DemoState(options=options, suite=suite, out_dir=options.out_dir.resolve())
    state.out_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    failed_step = ""
    try:
        console.rule("[bold cyan]start the four services")
        with console.status("starting ingest, profile, scoring, contact on SQLite (mutual TLS, JWT)…"):
            suite.start(timeout=120)
        for row in suite.status():
            console.print(f"  {row['service']:8} pid {row['pid']} port {row['port']} {row['health']}")
        state.timings.append(("start services", time.monotonic() - began))
        console.print(f"  mutual TLS and JWT authentication on; certificates and tokens in {pki.root}")
        admin_token = pki.token_file("admin").read_text(encoding="utf-8").strip()
        config = CliConfig(addresses=suite.addresses(), token=admin_token, timeout=60.0, tls=suite.client_tls)

        async def main() -> None:
            async with Clients(config) as clients:
                await _run_steps(state, clients)

        asyncio.run(main())
    except StepFailed as failed:
        status = 1
        failed_step = str(failed)
        console.print(f"[bold red]demo FAILED at step: {failed}[/]")
    except CliError as error:
        status = 1
        failed_step = "start the four services"
        _report_failure(failed_step, error, suite)
    except KeyboardInterrupt:
        status = 130
        console.print("[yellow]interrupted[/]")
    finally:
        if not options.keep_running:
            console.rule("[bold cyan]stop the services")
            outcome = suite.stop(grace=30)
            for name, how in outcome.items():
                console.print(f"  {name:8} {how}")
                if how not in ("stopped cleanly", "not running"):
                    status = status or 1
                    console.print(f"[red]{name} did not stop cleanly; log tail:[/]")
                    console.print(tail(suite.log_dir / f"{name}.log"), highlight=False, markup=False)
        else:
            console.print(f"services left running; `telco360 --var-dir {var_dir} services down` stops them")
            console.print(
                f"to call them: TELCO360_CLI_TLS_CA={pki.ca_file} TELCO360_CLI_TLS_CERT={pki.cert_file('cli')} "
                f"TELCO360_CLI_TLS_KEY={pki.key_file('cli')} TELCO360_CLI_TOKEN_FILE={pki.token_file('admin')}",
                highlight=False,
            )
    wall = time.monotonic() - began
    result_path = state.out_dir / "demo-result.json"
    result_path.write_text(json.dumps(result_record(state, status, failed_step, wall), indent=2, default=str))
    if status == 0:
        steps.print_final_summary(state)
        console.print(
            f"[bold green]demo finished in {wall:.0f} s wall time[/] "
            f"({options.accounts:,} accounts × {options.months} months)"
        )
    else:
        console.print(f"[bold red]demo failed after {wall:.0f} s wall time[/]")
    return status
