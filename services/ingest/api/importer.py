"""Bulk importer CLI (api layer): `python -m services.ingest.api.importer FILE --mapping MAP --addr HOST:PORT`.

Reads CSV, JSON Lines or Parquet, turns each row into a Record with a column mapping
(telco360_imports/mapping.py documents the format), streams them to IngestRecordBatches, shows a
progress bar, writes every rejected row with its reasons to a JSON Lines file and prints a
summary. Re-running an import is safe: records are identified by (source,
source_record_id), so rows already imported come back DUPLICATE and change nothing.

Rejects file: one JSON object per rejected row:
`{"row": 12, "data": {...the row...}, "violations": [{"field", "description", "reason"}],
"quarantine_id": "34"}`; rows the importer could not even convert have no quarantine_id.
"""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import typer
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type hints (no types-tqdm in the venv)

from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_imports.files import FORMATS, count_rows, detect_format, read_rows
from telco360_imports.mapping import Mapping, MappingError, RowError, load_mapping, row_to_record

BATCH_SIZE_MAX = 5000
"""Most records per message; the service's default record_batch_max."""


@dataclass
class Summary:
    """Counts of one import."""

    rows: int = 0
    accepted: int = 0
    duplicate: int = 0
    corrected: int = 0
    rejected: int = 0
    rejects_file: str = ""
    counts_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "corrected": self.corrected,
            "rejected": self.rejected,
            "rejects_file": self.rejects_file,
        }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v)) for k, v in row.items()}


class _Run:
    """State of one import shared by the sending thread and the result loop."""

    def __init__(self, mapping: Mapping, rejects: Any, summary: Summary, progress: tqdm) -> None:
        self.mapping, self.rejects, self.summary, self.progress = mapping, rejects, summary, progress
        self.pending: dict[int, tuple[int, dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.sent = 0

    def reject(
        self, number: int, row: dict[str, Any], violations: list[dict[str, str]], quarantine_id: str = ""
    ) -> None:
        entry = {"row": number, "data": _jsonable(row), "violations": violations}
        if quarantine_id:
            entry["quarantine_id"] = quarantine_id
        with self.lock:
            self.rejects.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.summary.rejected += 1
            self.progress.update(1)

    def batches(self, rows: Iterator[tuple[int, dict[str, Any]]], size: int) -> Iterator[ingest_pb2.RecordBatch]:
        """Convert rows into batches; rows that cannot be converted are rejected here."""
        batch = ingest_pb2.RecordBatch()
        for number, row in rows:
            with self.lock:
                self.summary.rows += 1
            if "__invalid_json__" in row:
                self.reject(
                    number, row, [{"field": "row", "description": row["__invalid_json__"], "reason": "INVALID_FORMAT"}]
                )
                continue
            try:
                record = row_to_record(self.mapping, row)
            except RowError as error:
                self.reject(
                    number, row, [{"field": error.field, "description": error.description, "reason": error.reason}]
                )
                continue
            with self.lock:
                self.pending[self.sent] = (number, row)
                self.sent += 1
            batch.records.append(record)
            if len(batch.records) >= size:
                yield batch
                batch = ingest_pb2.RecordBatch()
        if batch.records:
            yield batch

    def settle(self, result: ingest_pb2.RecordResult) -> None:
        with self.lock:
            number, row = self.pending.pop(result.index)
        status = result.status
        if status == ingest_pb2.RECORD_STATUS_REJECTED:
            self.reject(
                number,
                row,
                [{"field": v.field, "description": v.description, "reason": v.reason} for v in result.violations],
                result.quarantine_id,
            )
            return
        with self.lock:
            if status == ingest_pb2.RECORD_STATUS_ACCEPTED:
                self.summary.accepted += 1
            elif status == ingest_pb2.RECORD_STATUS_DUPLICATE:
                self.summary.duplicate += 1
            else:
                self.summary.corrected += 1
            self.progress.update(1)


def import_file(
    path: pathlib.Path,
    mapping: Mapping,
    addr: str,
    *,
    fmt: str | None = None,
    rejects_path: pathlib.Path | None = None,
    batch_size: int = 500,
    token: str = "",
    show_progress: bool = True,
) -> Summary:
    """Import one file into the ingest service at `addr`; returns the counts.

    `batch_size` (records per message) must be 1-BATCH_SIZE_MAX (ValueError otherwise).
    """
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise ValueError(f"batch_size must be between 1 and {BATCH_SIZE_MAX} (got {batch_size})")
    fmt = fmt or detect_format(path)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.jsonl")
    summary = Summary(rejects_file=str(rejects_path))
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with (
        rejects_path.open("w", encoding="utf-8") as rejects,
        tqdm(total=count_rows(path, fmt), unit="rows", disable=not show_progress) as progress,
        grpc.insecure_channel(
            addr, options=[("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
        ) as channel,
    ):
        run = _Run(mapping, rejects, summary, progress)
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        answers = stub.IngestRecordBatches(run.batches(read_rows(path, fmt), batch_size), metadata=metadata)
        for answer in answers:
            for result in answer.results:
                run.settle(result)
    return summary


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    file: pathlib.Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, JSONL or Parquet file"),
    mapping: pathlib.Path = typer.Option(..., "--mapping", "-m", exists=True, help="YAML or JSON column mapping"),
    addr: str = typer.Option("127.0.0.1:50051", "--addr", help="ingest service host:port"),
    fmt: str = typer.Option("", "--format", help="csv, jsonl or parquet (default: from the file name)"),
    rejects: pathlib.Path = typer.Option(None, "--rejects", help="rejected rows file (default FILE.rejects.jsonl)"),
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=BATCH_SIZE_MAX, help="records per message"),
    token: str = typer.Option("", "--token", envvar="TELCO360_TOKEN", help="bearer token"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Import FILE into the ingest service and print a summary."""
    if fmt and fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        parsed = load_mapping(mapping)
    except MappingError as error:
        raise typer.BadParameter(str(error), param_hint="--mapping") from None
    try:
        summary = import_file(
            file,
            parsed,
            addr,
            fmt=fmt or None,
            rejects_path=rejects,
            batch_size=batch_size,
            token=token,
            show_progress=not quiet,
        )
    except grpc.RpcError as error:
        typer.echo(f"import failed: {error.code().name}: {error.details()}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))


if __name__ == "__main__":
    app()
