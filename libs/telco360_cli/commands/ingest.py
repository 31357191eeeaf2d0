"""`telco360 import` and `telco360 quarantine list|replay` (the ingest service)."""

from __future__ import annotations

import pathlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import typer
from google.protobuf import json_format
from rich.table import Table

from telco360.ingest.v1 import ingest_pb2
from telco360_cli import fmt, mapping
from telco360_cli.console import console, progress_bar, run_command
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients

quarantine_group = typer.Typer(help="Rejected records: list them, replay them.", no_args_is_help=True)
STATUS = ingest_pb2.RecordStatus


@dataclass
class IngestSummary:
    """Counts of an ingest stream, by result status, with a few rejected examples."""

    sent: int = 0
    by_status: Counter = field(default_factory=Counter)
    rejected_examples: list[ingest_pb2.RecordResult] = field(default_factory=list)

    def count(self, status: int) -> int:
        """Results with a status (e.g. RECORD_STATUS_ACCEPTED)."""
        return self.by_status.get(fmt.enum_name(STATUS, status), 0)


async def ingest_records(
    clients: Clients,
    records: Iterable[ingest_pb2.Record],
    on_result: Callable[[int], None] | None = None,
    examples: int = 5,
    batch_size: int = 1000,
    timeout: float = 24 * 3600,
) -> IngestSummary:
    """Stream records through IngestRecordBatches; count results as batches are committed.

    An error raised while reading `records` ends the stream (batches already sent stay
    accepted; records are idempotent) and is raised here, rather than surfacing as the
    call's cancellation.
    """
    summary = IngestSummary()
    failures: list[Exception] = []

    async def requests() -> AsyncIterator[ingest_pb2.RecordBatch]:
        batch = ingest_pb2.RecordBatch()
        try:
            for record in records:
                summary.sent += 1
                batch.records.append(record)
                if len(batch.records) >= batch_size:
                    yield batch
                    batch = ingest_pb2.RecordBatch()
        except Exception as error:  # noqa: BLE001 - re-raised below, once the stream is closed
            failures.append(error)
            return
        if batch.records:
            yield batch

    call = clients.ingest.IngestRecordBatches(requests(), timeout=timeout)
    async for reply in call:
        for result in reply.results:
            summary.by_status[fmt.enum_name(STATUS, result.status)] += 1
            if result.status == STATUS.RECORD_STATUS_REJECTED and len(summary.rejected_examples) < examples:
                summary.rejected_examples.append(result)
        if on_result:
            on_result(len(reply.results))
    if failures:
        raise failures[0]
    return summary


def violations_text(violations: Iterable[ingest_pb2.FieldViolation]) -> str:
    """Violations as 'field: description [REASON]' lines."""
    return "\n".join(f"{v.field}: {v.description} [{v.reason}]" for v in violations)


def print_ingest_summary(summary: IngestSummary) -> None:
    """Counts per status and the first rejected records with their reasons."""
    table = Table(title="Ingest results", caption=f"{summary.sent:,} records sent")
    table.add_column("status")
    table.add_column("records", justify="right")
    for status, count in sorted(summary.by_status.items()):
        table.add_row(status, f"{count:,}")
    console.print(table)
    if summary.rejected_examples:
        rejected = Table(title="First rejected records (kept in quarantine)")
        for column in ("source / id", "quarantine id", "why"):
            rejected.add_column(column)
        for result in summary.rejected_examples:
            rejected.add_row(
                f"{result.source}/{result.source_record_id}", result.quarantine_id, violations_text(result.violations)
            )
        console.print(rejected)


def import_files(
    ctx: typer.Context,
    files: list[pathlib.Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV, JSON Lines or Parquet files"
    ),
    mapping_file: pathlib.Path | None = typer.Option(
        None,
        "--mapping",
        exists=True,
        dir_okay=False,
        help="YAML/JSON column mapping (ingest importer format); without it .jsonl holds protobuf-JSON Records",
    ),
) -> None:
    """Import files into ingest (streamed in batches through IngestRecordBatches, with progress)."""
    problems = mapping.RowProblems()

    async def run(clients: Clients) -> IngestSummary:
        column_mapping = mapping.load(mapping_file, files)
        total = sum(mapping.count_rows(path) for path in files)

        def records():
            for path in files:
                yield from mapping.read_records(path, column_mapping, problems)

        with progress_bar() as bar:
            task = bar.add_task("importing", total=total)
            summary = await ingest_records(clients, records(), lambda n: bar.advance(task, n))
            bar.update(task, completed=total)  # rows not sent (listed below) count as done
        return summary

    summary = run_command(ctx.obj, run)
    print_ingest_summary(summary)
    for path, number, why in problems.rows[:20]:
        console.print(f"[red]not sent[/] {path} row {number}: {why}", highlight=False)
    if problems.rows:
        console.print(f"{len(problems.rows):,} rows could not be converted and were not sent")
        raise typer.Exit(1)


@quarantine_group.command("list")
def quarantine_list(
    ctx: typer.Context,
    source: str = typer.Option("", help="only this source"),
    reason: str = typer.Option("", help="only this reason code or field path"),
    include_resolved: bool = typer.Option(False, help="also entries already replayed"),
    limit: int = typer.Option(50, help="entries to show"),
) -> None:
    """List quarantined records with why they were rejected."""

    async def run(clients: Clients) -> ingest_pb2.ListQuarantineResponse:
        request = ingest_pb2.ListQuarantineRequest(source=source, reason=reason, include_resolved=include_resolved)
        request.page.page_size = min(max(limit, 1), 1000)
        return await clients.ingest.ListQuarantine(request)

    reply = run_command(ctx.obj, run)
    total = reply.page.total_count
    table = Table(title=f"Quarantine ({total if total >= 0 else '?'} matching)")
    for column in ("quarantine id", "received", "source / id", "customer", "why", "resolved"):
        table.add_column(column)
    for entry in reply.entries:
        table.add_row(
            entry.quarantine_id,
            fmt.when(entry.received_at),
            f"{entry.record.source}/{entry.record.source_record_id}",
            entry.record.customer_id,
            violations_text(entry.violations),
            "yes" if entry.resolved else "",
        )
    console.print(table)


def corrected(record: ingest_pb2.Record, assignments: list[str]) -> ingest_pb2.Record:
    """A copy of `record` with `field.path=value` assignments applied (proto field names)."""
    data = json_format.MessageToDict(record, preserving_proto_field_name=True)
    for assignment in assignments:
        path, sep, value = assignment.partition("=")
        if not sep or not path.strip():
            raise CliError(f"--set {assignment!r}: expected FIELD=VALUE, e.g. billing.fee_fen=1200")
        node = data
        *parents, leaf = path.strip().split(".")
        for name in parents:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise CliError(f"--set {path}: {name} is not a message")
        node[leaf] = value
    try:
        return json_format.ParseDict(data, ingest_pb2.Record())
    except json_format.ParseError as error:
        raise CliError(f"--set: {error}") from None


async def find_entry(clients: Clients, quarantine_id: str) -> ingest_pb2.QuarantineEntry:
    """One quarantine entry by id (pages through the unresolved entries)."""
    token = ""
    while True:
        request = ingest_pb2.ListQuarantineRequest()
        request.page.page_size = 1000
        request.page.page_token = token
        reply = await clients.ingest.ListQuarantine(request)
        for entry in reply.entries:
            if entry.quarantine_id == quarantine_id:
                return entry
        token = reply.page.next_page_token
        if not token:
            raise CliError(f"quarantine entry {quarantine_id} is not among the unresolved entries")


@quarantine_group.command("replay")
def quarantine_replay(
    ctx: typer.Context,
    ids: list[str] = typer.Argument(None, help="quarantine ids to replay"),
    assignments: list[str] = typer.Option(
        [],
        "--set",
        help="with one id: correct a field before replaying, FIELD=VALUE (repeatable), e.g. --set billing.fee_fen=1200",
    ),
    all_matching: bool = typer.Option(False, "--all", help="replay every unresolved entry matching --source/--reason"),
    source: str = typer.Option("", help="with --all: only this source"),
    reason: str = typer.Option("", help="with --all: only this reason or field"),
) -> None:
    """Re-validate quarantined records (as stored, or corrected with --set); passing ones move into the log."""
    if not ids and not all_matching:
        raise typer.BadParameter("name quarantine ids or use --all")
    if assignments and (len(ids or []) != 1 or all_matching):
        raise typer.BadParameter("--set corrects exactly one quarantine id (without --all)")

    async def run(clients: Clients) -> ingest_pb2.ReplayQuarantineResponse:
        request = ingest_pb2.ReplayQuarantineRequest()
        if assignments:
            entry = await find_entry(clients, ids[0])
            request.corrections.add(quarantine_id=entry.quarantine_id, record=corrected(entry.record, assignments))
        else:
            request.quarantine_ids.extend(ids or [])
        if all_matching:
            request.filter.CopyFrom(ingest_pb2.ListQuarantineRequest(source=source, reason=reason))
        return await clients.ingest.ReplayQuarantine(request)

    reply = run_command(ctx.obj, run)
    console.print(f"moved into the log: [green]{reply.moved}[/]   still rejected: [red]{reply.still_rejected}[/]")
    for result in reply.results:
        if result.status == STATUS.RECORD_STATUS_REJECTED:
            console.print(
                f"  {result.source}/{result.source_record_id}: {violations_text(result.violations)}", highlight=False
            )


def register(app: typer.Typer) -> None:
    """Add the commands to the application."""
    app.command("import")(import_files)
    app.add_typer(quarantine_group, name="quarantine")
