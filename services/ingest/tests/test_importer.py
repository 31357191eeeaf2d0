"""Bulk importer: CSV and JSON Lines with a column mapping, bad rows, re-runs, the CLI."""

from __future__ import annotations

import asyncio
import csv
import json
import pathlib
import sys

import pytest

from services.ingest.api.importer import import_file
from services.ingest.tests.conftest import Running
from telco360.ingest.v1 import ingest_pb2
from telco360_imports.mapping import load_mapping

ROOT = pathlib.Path(__file__).resolve().parents[3]
MAPPING_YAML = """
kind: billing
fields:
  source: {value: billing-csv}
  source_record_id: bill_no
  customer_id: account
  occurred_at: billed_at
  billing.month: month
  billing.product_line:
    column: product
    map: {语音: VOICE, 专线: DEDICATED_LINE}
  billing.fee_fen: fee
  billing.lines: lines
  billing.payment_status: {column: status, default: PAID}
"""
HEADER = ["bill_no", "account", "billed_at", "month", "product", "fee", "lines", "status"]
ROWS = [
    ["B1", "C-1", "2024-06-01T08:00:00Z", "2024-05", "语音", "120000", "10", ""],
    ["B2", "C-1", "2024-06-01T08:00:00", "2024-05", "专线", "990000", "2", "paid"],
    ["B3", "C-2", "1717228800", "2024-05", "cloud", "-5", "1", ""],  # negative fee
    ["B4", "C-2", "2024-06-01", "2024-05", "satellite", "100", "1", ""],  # unknown product
    ["B5", "C-3", "2024-06-01", "2024-05", "broadband", "12.5", "1", ""],  # fee not whole
    ["B6", "C-3", "2024-06-01", "2999-01", "iot", "300", "40", ""],  # future month
    ["B7", "C-4", "2024-06-01", "2024-05", "mobile_data", "4500", "30", "overdue"],
]


@pytest.fixture
def files(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    data = tmp_path / "bills.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    return data, mapping


async def _import(server: Running, data: pathlib.Path, mapping: pathlib.Path, **kwargs):
    return await asyncio.to_thread(
        import_file, data, load_mapping(mapping), server.address, show_progress=False, **kwargs
    )


async def test_csv_import_with_mapping_and_bad_rows(server: Running, files) -> None:
    data, mapping = files
    summary = await _import(server, data, mapping, batch_size=3)
    assert (summary.rows, summary.accepted, summary.rejected) == (7, 3, 4)
    rejects = [json.loads(line) for line in pathlib.Path(summary.rejects_file).read_text().splitlines()]
    by_row = {r["row"]: r for r in rejects}
    assert set(by_row) == {3, 4, 5, 6}
    assert by_row[3]["violations"][0]["field"] == "billing.fee_fen"
    assert by_row[3]["quarantine_id"]  # rejected by the service: quarantined
    assert by_row[4]["violations"][0]["field"] == "billing.product_line"
    assert "quarantine_id" not in by_row[4]  # could not even be converted
    assert by_row[5]["violations"][0]["field"] == "billing.fee_fen"
    assert by_row[6]["violations"][0] == {
        "field": "billing.month",
        "reason": "OUT_OF_RANGE",
        "description": "must not be in the future",
    }
    assert by_row[3]["data"]["bill_no"] == "B3"

    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [e.record.source_record_id for e in log] == ["B1", "B2", "B7"]
    b1 = log[0].record
    assert b1.source == "billing-csv" and b1.customer_id == "C-1"
    assert b1.billing.product_line == 1 and b1.billing.fee_fen == 120000
    assert b1.billing.payment_status == ingest_pb2.PAYMENT_STATUS_PAID
    assert log[2].record.billing.payment_status == ingest_pb2.PAYMENT_STATUS_OVERDUE

    # Re-running the same import changes nothing.
    again = await _import(server, data, mapping)
    assert (again.accepted, again.duplicate, again.corrected, again.rejected) == (0, 3, 0, 4)
    stats = await server.stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    assert stats.last_sequence == 3 and stats.quarantined == 2


async def test_jsonl_import(server: Running, tmp_path: pathlib.Path) -> None:
    data = tmp_path / "contacts.jsonl"
    rows = [
        {
            "id": "p1",
            "cust": "C-9",
            "at": "2024-01-02T03:04:05+08:00",
            "name": "王芳",
            "level": "decision_maker",
            "phone": "138 0013 8000",
            "q": None,
        },
        {"id": "p2", "cust": "C-9", "at": "2024-01-02", "name": "", "level": "user"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{oops\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "kind": "contact",
                "fields": {
                    "source": {"value": "crm"},
                    "source_record_id": "id",
                    "customer_id": "cust",
                    "occurred_at": "at",
                    "contact.person_id": "id",
                    "contact.name": "name",
                    "contact.level": "level",
                    "contact.phone": "phone",
                },
            }
        ),
        encoding="utf-8",
    )
    summary = await _import(server, data, mapping)
    assert (summary.rows, summary.accepted, summary.rejected) == (3, 1, 2)
    [entry] = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert entry.record.contact.phone == "+8613800138000"
    assert entry.record.occurred_at.seconds == 1704135845


async def test_cli_prints_summary(server: Running, files, tmp_path: pathlib.Path) -> None:
    data, mapping = files
    rejects = tmp_path / "rejects.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.ingest.api.importer",
        str(data),
        "--mapping",
        str(mapping),
        "--addr",
        server.address,
        "--rejects",
        str(rejects),
        "--quiet",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["accepted"] == 3 and summary["rejected"] == 4
    assert len(rejects.read_text().splitlines()) == 4


BOUNDS_ROWS = [
    ["N1", "C-1", "2024-06-01", "2024-05", "voice", "120000", "10", ""],  # good
    ["N2", "C-1", "2024-06-01", "2024-05", "voice", "１２００００", "10", ""],  # full-width fee
    ["N3", "C-1", "2024-06-01", "２０２４-05", "voice", "100", "1", ""],  # full-width month
    ["N4", "C-1", "1e30", "2024-05", "voice", "100", "1", ""],  # time past 2200
    ["N5", "C-1", "nan", "2024-05", "voice", "100", "1", ""],  # not a time
    ["N6", "C-1", "2024-06-01", "2024-05", "voice", "9223372036854775808", "1", ""],  # > int64
    ["N7", "C-1", "2024-06-01", "2024-05", "voice", "10000000000001", "1", ""],  # > money bound
    ["N8", "C-1", "2024-06-01", "2024-05", "voice", "1_000", "1", ""],  # underscores
    ["N9", "C-1", "2024-06-01", "2024-05", "voice", "100", "3000000000", ""],  # > int32
    ["N10", "C-1", "2024-06-01", "2024-05", "１", "100", "1", ""],  # full-width enum
    ["N11", "C-1", "2024-06-01", "2024-05", "voice", "300", "2", ""],  # good
]


async def test_import_refuses_full_width_digits_and_out_of_range_numbers(
    server: Running, tmp_path: pathlib.Path
) -> None:
    data = tmp_path / "bounds.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(BOUNDS_ROWS)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    summary = await _import(server, data, mapping, batch_size=4)
    assert (summary.rows, summary.accepted, summary.rejected) == (11, 2, 9)
    rejects = {r["row"]: r for r in map(json.loads, pathlib.Path(summary.rejects_file).read_text().splitlines())}
    got = {row: (r["violations"][0]["field"], r["violations"][0]["reason"]) for row, r in rejects.items()}
    assert got == {
        2: ("billing.fee_fen", "INVALID_FORMAT"),
        3: ("billing.month", "INVALID_FORMAT"),
        4: ("occurred_at", "OUT_OF_RANGE"),
        5: ("occurred_at", "INVALID_FORMAT"),
        6: ("billing.fee_fen", "OUT_OF_RANGE"),
        7: ("billing.fee_fen", "OUT_OF_RANGE"),
        8: ("billing.fee_fen", "INVALID_FORMAT"),
        9: ("billing.lines", "OUT_OF_RANGE"),
        10: ("billing.product_line", "UNKNOWN_ENUM"),
    }
    assert rejects[3]["quarantine_id"] and rejects[7]["quarantine_id"]  # judged by the service
    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [e.record.source_record_id for e in log] == ["N1", "N11"]


@pytest.mark.parametrize("size", [0, -1, 5001])
def test_import_refuses_batch_sizes_out_of_range(size: int, files) -> None:
    data, mapping = files
    with pytest.raises(ValueError, match="batch_size"):
        import_file(data, load_mapping(mapping), "127.0.0.1:1", batch_size=size, show_progress=False)
