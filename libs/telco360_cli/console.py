"""The shared rich console and the wrapper that runs a command's coroutine.

`run_command(config, fn)` opens the clients, awaits `fn(clients)` and turns every failure
into a printed message and exit status 1 (never a traceback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from telco360_cli.config import CliConfig
from telco360_cli.errors import CliError, print_error
from telco360_cli.rpc import Clients

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def run_command(config: CliConfig, fn: Callable[[Clients], Awaitable[T]]) -> T:
    """Run one command against the services; print failures and exit 1 on error."""

    async def main() -> T:
        async with Clients(config) as clients:
            return await fn(clients)

    try:
        return asyncio.run(main())
    except (grpc.RpcError, CliError, OSError, TimeoutError, ValueError) as error:
        print_error(err_console, error)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        raise typer.Exit(code=130) from None


def progress_bar(transient: bool = False) -> Progress:
    """A progress bar for long work (imports, jobs)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )
