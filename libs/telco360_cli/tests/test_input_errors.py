"""Input the CLI checks itself: mappings, dates, enum names, quarantine corrections.

Each failure must surface as one readable CliError/ValueError naming the problem (the
entry point prints it without a traceback), and unconvertible rows must not stop an import.
"""

from __future__ import annotations

import pathlib

import pytest

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_cli import fmt, mapping
from telco360_cli.commands.ingest import corrected
from telco360_cli.errors import CliError

MAPPING = """kind: billing
fields:
  source: {value: branch_billing}
  source_record_id: bill_no
  customer_id: account
  occurred_at: billed_at
  billing.month: month
  billing.fee_fen: fee
  billing.product_line: {column: product, map: {专线: DEDICATED_LINE}}
"""


def test_mapped_csv_converts_good_rows_and_reports_bad_ones(tmp_path: pathlib.Path) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "bills.csv").write_text(
        "bill_no,account,billed_at,month,fee,product\n"
        "B1,KA1,2026-10-31T16:00:00Z,2026-10,1200,专线\n"
        "B2,KA2,2026-10-31T16:00:00Z,2026-10,abc,专线\n",
        encoding="utf-8",
    )
    files = [tmp_path / "bills.csv"]
    problems = mapping.RowProblems()
    records = list(mapping.read_records(files[0], mapping.load(tmp_path / "map.yaml", files), problems))
    assert [r.source_record_id for r in records] == ["B1"]
    assert records[0].billing.product_line == common_pb2.PRODUCT_LINE_DEDICATED_LINE
    assert problems.rows == [(str(files[0]), 2, "billing.fee_fen: not a whole number: 'abc'")]


def test_a_broken_mapping_or_a_csv_without_one_fails_before_sending(tmp_path: pathlib.Path) -> None:
    (tmp_path / "map.yaml").write_text("kind: billing\nfields:\n  source: {value: x}\n")
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(CliError, match="must be mapped"):
        mapping.load(tmp_path / "map.yaml", [tmp_path / "a.csv"])
    with pytest.raises(CliError, match="needs --mapping"):
        mapping.load(None, [tmp_path / "a.csv"])


def test_a_line_that_is_not_a_record_is_reported_and_skipped(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"bogus": 1}\n{"source": "crm", "sourceRecordId": "1", "customerId": "KA1"}\n')
    problems = mapping.RowProblems()
    records = list(mapping.read_records(path, None, problems))
    assert [r.customer_id for r in records] == ["KA1"]
    assert problems.rows[0][1] == 1 and "not a Record" in problems.rows[0][2]


def test_quarantine_correction_sets_fields_by_path() -> None:
    record = ingest_pb2.Record(source="billing", source_record_id="B1", customer_id="KA1")
    record.billing.fee_fen = -5
    fixed = corrected(record, ["billing.fee_fen=1200", "billing.month=2026-10"])
    assert (fixed.billing.fee_fen, fixed.billing.month, fixed.source_record_id) == (1200, "2026-10", "B1")
    with pytest.raises(CliError, match="fee_fen"):
        corrected(record, ["billing.fee_fen=abc"])
    with pytest.raises(CliError, match="FIELD=VALUE"):
        corrected(record, ["billing.fee_fen"])


def test_dates_and_enum_names_fail_in_words() -> None:
    assert fmt.parse_time("2026-01").isoformat() == "2026-01-01T00:00:00+00:00"
    with pytest.raises(ValueError, match="not a date or time: 'soon'"):
        fmt.parse_time("soon")
    assert fmt.enum_value(contact_pb2.Channel, "sms") == contact_pb2.CHANNEL_SMS
    with pytest.raises(ValueError, match="unknown Channel 'pigeon'; choose one of: sms"):
        fmt.enum_value(contact_pb2.Channel, "pigeon")
