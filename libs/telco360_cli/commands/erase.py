"""`telco360 erase`: erase an account across the suite, follow the erasure, list erasures, reactivate (admin).

    telco360 erase ACCOUNT --reason TEXT [--purge-facts]   erase (a repeat shows the existing erasure)
    telco360 erase status ACCOUNT                          per service: applied or pending, removed, when
    telco360 erase list [--incomplete]                     every erasure, oldest first
    telco360 erase reactivate ACCOUNT --reason TEXT        an erased account that came back (new contract)

Profile coordinates the erasure: it erases its own store at once and sends the erasure to
ingest, scoring and contact until each has applied it (a service that is down is retried).
"""

from __future__ import annotations

import typer
from rich.table import Table
from typer.core import TyperGroup

from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_cli import fmt
from telco360_cli.console import console, run_command
from telco360_cli.rpc import Clients

MAX_PAGE = 1000
STATES = {
    pb.ERASURE_STATE_PENDING: "pending",
    pb.ERASURE_STATE_DONE: "done",
    pb.ERASURE_STATE_LIFT_PENDING: "lift pending",
    pb.ERASURE_STATE_LIFTED: "lifted",
}


class _EraseGroup(TyperGroup):
    """`telco360 erase ACCOUNT ...` is `telco360 erase request ACCOUNT ...`."""

    def parse_args(self, ctx, args):  # the Context type of the click that typer uses
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["request", *args]
        return super().parse_args(ctx, args)


erase_app = typer.Typer(
    cls=_EraseGroup,
    help="Erase an account's personal data in every service (admin): `telco360 erase ACCOUNT --reason TEXT`.",
    no_args_is_help=True,
)


def _removed(removed) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(removed.items())) or "-"


def summary(status: pb.ErasureStatus) -> str:
    """One line: the erasure, its account and whether every service has applied it."""
    if status.complete:
        state = "reactivated in every service" if status.reactivated else "complete in every service"
    else:
        waiting = [
            s.service for s in status.services if s.state in (pb.ERASURE_STATE_PENDING, pb.ERASURE_STATE_LIFT_PENDING)
        ]
        what = "lift" if status.reactivated else "erasure"
        state = f"{what} pending in {', '.join(waiting)} (retried until each answers)"
    return f"erasure {status.erasure_id} of {status.customer_id} ({status.trigger}): {state}"


def render_status(status: pb.ErasureStatus) -> None:
    """The erasure as a table, one row per service."""
    console.print(summary(status), highlight=False)
    table = Table()
    for column in ("service", "state", "removed", "done (UTC)", "attempts", "last error"):
        table.add_column(column, overflow="fold")
    for s in status.services:
        done = fmt.when(s.lifted_at) if s.state == pb.ERASURE_STATE_LIFTED else fmt.when(s.done_at)
        table.add_row(s.service, STATES.get(s.state, "?"), _removed(s.removed), done, str(s.attempts), s.last_error)
    console.print(table)


@erase_app.command("request")
def request(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="the account (customer id)"),
    reason: str = typer.Option(..., help="why, for the audit trail (e.g. 'customer request 2026-11-02')"),
    purge_facts: bool = typer.Option(False, "--purge-facts", help="also delete non-personal facts (fees, scores)"),
) -> None:
    """Erase an account's personal data in every service (a repeat shows the existing erasure)."""

    async def go(clients: Clients) -> None:
        reply = await clients.profile.EraseCustomer(
            pb.EraseCustomerRequest(customer_id=account, reason=reason, purge_facts=purge_facts)
        )
        render_status(reply.status)

    run_command(ctx.obj, go)


@erase_app.command("status")
def status(ctx: typer.Context, account: str = typer.Argument(..., help="the account (customer id)")) -> None:
    """Where each service stands with the account's erasure."""

    async def go(clients: Clients) -> None:
        render_status(await clients.profile.GetErasureStatus(pb.GetErasureStatusRequest(customer_id=account)))

    run_command(ctx.obj, go)


@erase_app.command("list")
def list_erasures(
    ctx: typer.Context,
    incomplete: bool = typer.Option(False, "--incomplete", help="only erasures some service has not applied yet"),
    limit: int = typer.Option(100, min=1, max=100_000, help="erasures to show at most"),
) -> None:
    """Every erasure, oldest first, with the services still pending."""

    async def go(clients: Clients) -> None:
        shown: list[pb.ErasureStatus] = []
        token = ""
        while len(shown) < limit:
            page = common_pb2.PageRequest(page_size=min(limit - len(shown), MAX_PAGE), page_token=token)
            answer = await clients.profile.ListErasures(pb.ListErasuresRequest(page=page, incomplete_only=incomplete))
            shown.extend(answer.erasures)
            token = answer.page.next_page_token
            if not token:
                break
        if not shown:
            console.print("no erasures" + (" pending" if incomplete else ""))
            return
        table = Table(title="Erasures, oldest first")
        for column in ("erasure", "account", "trigger", "requested (UTC)", "state", "pending in"):
            table.add_column(column, overflow="fold")
        for e in shown[:limit]:
            pending = [
                s.service for s in e.services if s.state in (pb.ERASURE_STATE_PENDING, pb.ERASURE_STATE_LIFT_PENDING)
            ]
            state = ("reactivated" if e.reactivated else "complete") if e.complete else "pending"
            table.add_row(e.erasure_id, e.customer_id, e.trigger, fmt.when(e.requested_at), state, ", ".join(pending))
        console.print(table)
        if token:
            console.print(f"more erasures: raise --limit (showing {limit})")

    run_command(ctx.obj, go)


@erase_app.command("reactivate")
def reactivate(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="the erased account (customer id)"),
    reason: str = typer.Option(..., help="why, for the audit trail (e.g. 'new contract C-2027-0113')"),
) -> None:
    """Reactivate an erased account that came back; erased personal data is not restored."""

    async def go(clients: Clients) -> None:
        render_status(
            await clients.profile.ReactivateCustomer(pb.ReactivateCustomerRequest(customer_id=account, reason=reason))
        )

    run_command(ctx.obj, go)


def register(app: typer.Typer) -> None:
    """Add the command group to the application."""
    app.add_typer(erase_app, name="erase")
