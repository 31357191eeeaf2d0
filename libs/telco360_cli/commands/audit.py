"""`telco360 audit`: list one service's audit trail by customer, caller or time (admin only)."""

from __future__ import annotations

import typer
from rich.table import Table

from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360_cli import fmt
from telco360_cli.console import console, run_command
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime.timeconv import to_timestamp

SERVICES = ("ingest", "profile", "scoring", "contact")
#: Account ids shown per entry (the entry keeps up to 100 and counts them all).
SHOWN_ACCOUNTS = 3
MAX_PAGE = 1000


def _accounts(entry: audit_pb2.AuditEntry) -> str:
    shown = ", ".join(entry.account_ids[:SHOWN_ACCOUNTS])
    more = entry.account_count - min(len(entry.account_ids), SHOWN_ACCOUNTS)
    return f"{shown} (+{more})" if more > 0 else shown


def render(service: str, entries: list[audit_pb2.AuditEntry], more: bool) -> None:
    """The entries as a table, newest first."""
    if not entries:
        console.print(f"no audit entries in {service} match")
        return
    table = Table(title=f"Audit trail of {service}, newest first")
    for column in ("#", "at (UTC)", "caller", "rpc", "action", "accounts", "detail", "outcome"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.id),
            fmt.when(e.at),
            f"{e.subject} ({e.role})" if e.role else e.subject,
            e.method.rsplit("/", 1)[-1],
            e.action,
            _accounts(e),
            e.detail,
            e.outcome,
        )
    console.print(table)
    if more:
        console.print(f"more entries match: raise --limit (showing {len(entries)})")


def audit(
    ctx: typer.Context,
    service: str = typer.Option(..., help=f"whose trail: {', '.join(SERVICES)}"),
    customer: str | None = typer.Option(None, help="only entries about this account (customer id)"),
    caller: str | None = typer.Option(None, help="only entries of this caller (token subject)"),
    since: str | None = typer.Option(None, help="from this time (ISO 8601, YYYY-MM-DD; UTC when no zone)"),
    until: str | None = typer.Option(None, help="before this time (exclusive)"),
    limit: int = typer.Option(50, min=1, max=100_000, help="entries to show at most"),
) -> None:
    """List a service's audit trail: who read or changed what, when (needs an admin token)."""
    if service not in SERVICES:
        raise CliError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    request = audit_pb2.ListAuditEntriesRequest(account_id=customer or "", subject=caller or "")
    if since:
        request.since.CopyFrom(to_timestamp(fmt.parse_time(since)))
    if until:
        request.until.CopyFrom(to_timestamp(fmt.parse_time(until)))

    async def go(clients: Clients) -> None:
        stub = audit_pb2_grpc.AuditServiceStub(clients.channel(service))
        entries: list[audit_pb2.AuditEntry] = []
        token = ""
        while len(entries) < limit:
            request.page.CopyFrom(
                common_pb2.PageRequest(page_size=min(limit - len(entries), MAX_PAGE), page_token=token)
            )
            answer = await stub.ListAuditEntries(request)
            entries.extend(answer.entries)
            token = answer.page.next_page_token
            if not token:
                break
        render(service, entries[:limit], bool(token))

    run_command(ctx.obj, go)


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("audit")(audit)
