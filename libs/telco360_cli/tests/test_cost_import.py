"""`telco360 import` of cost rows (issue #19): a cost mapping, billing and cost rows in one file."""

from __future__ import annotations

import pathlib

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_cli import mapping
from telco360_cli.commands.ingest import corrected

MIXED = """kind_column: kind
fields:
  source: {value: finance}
  source_record_id: id
  customer_id: account
  occurred_at: at
  billing.month: month
  billing.fee_fen: amount
  billing.product_line: product
  cost.month: month
  cost.amount_fen: amount
  cost.product_line: product
  cost.cost_type: type
"""


def test_billing_and_cost_rows_of_one_file_become_their_records(tmp_path: pathlib.Path) -> None:
    (tmp_path / "map.yaml").write_text(MIXED, encoding="utf-8")
    (tmp_path / "money.csv").write_text(
        "kind,id,account,at,month,amount,product,type\n"
        "billing,B1,KA1,2026-10-31T16:00:00Z,2026-10,5000000,dedicated_line,\n"
        "cost,K1,KA1,2026-10-31T17:00:00Z,2026-10,3000000,dedicated_line,network\n"
        "cost,K2,KA1,2026-10-31T17:00:00Z,2026-10,200000,dedicated_line,channel_commission\n"
        "cost,K3,KA1,2026-10-31T17:00:00Z,2026-10,12.5,voice,discount\n"
        "cost,K4,KA1,2026-10-31T17:00:00Z,2026-10,100,voice,rebate\n",
        encoding="utf-8",
    )
    files = [tmp_path / "money.csv"]
    problems = mapping.RowProblems()
    records = list(mapping.read_records(files[0], mapping.load(tmp_path / "map.yaml", files), problems))
    assert [(r.source_record_id, r.WhichOneof("payload")) for r in records] == [
        ("B1", "billing"),
        ("K1", "cost"),
        ("K2", "cost"),
    ]
    assert records[1].cost.cost_type == ingest_pb2.COST_TYPE_NETWORK
    assert records[1].cost.product_line == common_pb2.PRODUCT_LINE_DEDICATED_LINE
    assert (records[2].cost.cost_type, records[2].cost.amount_fen) == (ingest_pb2.COST_TYPE_CHANNEL_COMMISSION, 200_000)
    bad = [(row, why.split(":")[0]) for _, row, why in problems.rows]
    assert bad == [(4, "cost.amount_fen"), (5, "cost.cost_type")]


def test_a_quarantined_cost_is_corrected_by_path() -> None:
    record = ingest_pb2.Record(source="finance", source_record_id="K9", customer_id="KA1")
    record.cost.amount_fen = -5
    fixed = corrected(record, ["cost.amount_fen=42000", "cost.cost_type=COST_TYPE_SUBSIDY"])
    assert (fixed.cost.amount_fen, fixed.cost.cost_type) == (42_000, ingest_pb2.COST_TYPE_SUBSIDY)
