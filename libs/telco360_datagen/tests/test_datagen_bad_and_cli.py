"""Bad records only when asked (and flagged), credit codes, and the command line."""

from __future__ import annotations

import csv
import json

from google.protobuf import json_format
from typer.testing import CliRunner

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import credit_code, generate
from telco360_datagen.cli import app
from telco360_datagen.tests.helpers import problems


def test_bad_records_only_when_asked_and_flagged_with_their_good_version() -> None:
    clean = list(generate(150, 12, seed=9).records())
    base = generate(150, 12, seed=9, bad_record_share=0.05)
    labelled = list(base.labelled_records())
    assert len(labelled) == len(clean)
    flagged = [truth for _, truth in labelled if truth is not None]
    assert 0.03 * len(clean) <= len(flagged) <= 0.07 * len(clean)
    assert len(base.truth.bad_records) == len(flagged)
    assert {b.kind for b in flagged} == {
        "NEGATIVE_FEE",
        "BAD_MONTH",
        "SURVEY_OUT_OF_RANGE",
        "MALFORMED_PHONE",
        "MISSING_REQUIRED",
    }
    for (record, truth), good in zip(labelled, clean, strict=True):
        if truth is None:
            assert record == good  # the good data do not change when bad records are asked for
            assert not problems(record)
        else:
            assert truth.field in problems(record)
            assert truth.corrected == good and not problems(truth.corrected)
            assert record.WhichOneof("payload") not in ("account", "lifecycle")


def test_credit_code_check_character() -> None:
    assert credit_code.is_valid("91350100M000100Y43")
    assert not credit_code.is_valid("91350100M000100Y44")
    assert not credit_code.is_valid("91350100M000100Y4")
    assert not credit_code.is_valid("91350100M000100I43")
    assert credit_code.organisation_check("MA5FXXXX") in "0123456789X"


def test_cli_writes_jsonl_billing_csv_and_truth(tmp_path) -> None:
    out, bills, truth = tmp_path / "base.jsonl", tmp_path / "billing.csv", tmp_path / "truth.json"
    result = CliRunner().invoke(
        app,
        [
            "--accounts",
            "30",
            "--months",
            "6",
            "--seed",
            "4",
            "--out",
            str(out),
            "--billing-csv",
            str(bills),
            "--truth",
            str(truth),
            "--bad-share",
            "0.02",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    parsed = [json_format.Parse(line, ingest_pb2.Record()) for line in lines]
    assert parsed == list(generate(30, 6, seed=4, bad_record_share=0.02).records())
    with bills.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(1 for r in parsed if r.HasField("billing"))
    assert rows[0]["product_line"].startswith("PRODUCT_LINE_")
    payload = json.loads(truth.read_text(encoding="utf-8"))
    assert len(payload["accounts"]) == 30 and len(payload["months"]) == 6
    assert {b["source_record_id"] for b in payload["bad_records"]} <= {r.source_record_id for r in parsed}
