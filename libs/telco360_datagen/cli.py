"""Command line: ``python -m telco360_datagen --accounts N --months M --seed S --out file.jsonl``.

Writes the records as JSON Lines (protobuf JSON with the .proto field names), optionally
billing as CSV and the ground truth as JSON. Prints counts only (no personal data).
"""

from __future__ import annotations

import csv
import json
import pathlib
import time
from collections import Counter
from dataclasses import asdict

import typer
from google.protobuf import json_format

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.generator import GeneratedBase, generate

app = typer.Typer(add_completion=False, help="Generate realistic key-account records for Telco360 ingest.")

BILLING_COLUMNS = (
    "source",
    "source_record_id",
    "customer_id",
    "occurred_at",
    "month",
    "product_line",
    "fee_fen",
    "usage_quantity",
    "usage_unit",
    "lines",
    "payment_status",
    "days_overdue",
)


def _billing_row(record: ingest_pb2.Record) -> list[object]:
    bill = record.billing
    return [
        record.source,
        record.source_record_id,
        record.customer_id,
        record.occurred_at.ToJsonString(),
        bill.month,
        common_pb2.ProductLine.Name(bill.product_line),
        bill.fee_fen,
        bill.usage_quantity,
        bill.usage_unit,
        bill.lines,
        ingest_pb2.PaymentStatus.Name(bill.payment_status),
        bill.days_overdue,
    ]


def write_truth(base: GeneratedBase, path: pathlib.Path) -> None:
    """Ground truth as JSON: accounts, monthly totals, bad records and planted anomalies."""
    truth = base.truth
    payload = {
        "months": list(truth.months),
        "accounts": {cid: asdict(acct) for cid, acct in truth.accounts.items()},
        "monthly_totals_fen": truth.monthly_totals,
        "bad_records": [
            {
                "source": b.source,
                "source_record_id": b.source_record_id,
                "customer_id": b.customer_id,
                "kind": b.kind,
                "field": b.field,
            }
            for b in truth.bad_records.values()
        ],
        "anomalies": [asdict(a) for a in truth.anomalies.values()],
        # Monthly cost per account (with --costs): month -> fen, and what shaped it.
        "monthly_costs_fen": {
            cid: {m: truth.monthly_cost(cid, m) for m in truth.months if truth.monthly_cost(cid, m)}
            for cid in truth.costs
        },
        "cost_traits": {cid: list(c.traits) for cid, c in truth.costs.items() if c.traits},
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


@app.command()
def main(
    accounts: int = typer.Option(1000, min=1, help="Number of key accounts."),
    months: int = typer.Option(24, min=1, help="Number of months of history."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same data."),
    out: pathlib.Path = typer.Option(..., help="JSON Lines file of ingest Records."),
    end_month: str = typer.Option("2026-10", help="Last generated month, YYYY-MM (a completed month)."),
    bad_share: float = typer.Option(0.0, min=0.0, max=0.5, help="Share of deliberately bad records."),
    anomaly_share: float = typer.Option(
        0.0, min=0.0, max=0.2, help="Share of accounts with a planted anomaly (outlier detection; anomalies.py)."
    ),
    costs: bool = typer.Option(False, help="Also generate monthly cost records (margin; costs.py)."),
    billing_csv: pathlib.Path | None = typer.Option(None, help="Also write billing records as CSV."),
    truth: pathlib.Path | None = typer.Option(None, help="Also write the ground truth as JSON."),
) -> None:
    """Generate the base and write it."""
    started = time.perf_counter()
    base = generate(
        accounts,
        months,
        seed,
        end_month=end_month,
        bad_record_share=bad_share,
        anomaly_share=anomaly_share,
        cost_records=costs,
    )
    counts: Counter[str] = Counter()
    csv_file = billing_csv.open("w", newline="", encoding="utf-8") if billing_csv else None
    try:
        writer = csv.writer(csv_file) if csv_file else None
        if writer:
            writer.writerow(BILLING_COLUMNS)
        with out.open("w", encoding="utf-8") as handle:
            for record in base.records():
                kind = record.WhichOneof("payload") or "none"
                counts[kind] += 1
                handle.write(
                    json.dumps(
                        json_format.MessageToDict(record, preserving_proto_field_name=True),
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                )
                handle.write("\n")
                if writer and kind == "billing":
                    writer.writerow(_billing_row(record))
    finally:
        if csv_file:
            csv_file.close()
    if truth:
        write_truth(base, truth)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    typer.echo(
        f"wrote {total} records for {accounts} accounts x {months} months in {elapsed:.1f}s "
        f"({len(base.truth.churned())} churners, {len(base.truth.bad_records)} bad records)",
        err=True,
    )
    for kind, n in sorted(counts.items()):
        typer.echo(f"  {kind}: {n}", err=True)
