"""Cost records (issue #19): validation field by field, idempotency, quarantine replay, import."""

from __future__ import annotations

import asyncio
import csv
import itertools
import pathlib
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.api.converters import dict_to_record
from services.ingest.api.importer import import_file
from services.ingest.domain import limits
from services.ingest.domain.erasure import blank_record
from services.ingest.domain.validate import validate_record
from services.ingest.domain.violations import INVALID_FORMAT, OUT_OF_RANGE, REQUIRED, TOO_LONG, UNKNOWN_ENUM
from services.ingest.tests.conftest import Running
from services.ingest.tests.samples import raw
from telco360.ingest.v1 import ingest_pb2
from telco360_imports.mapping import parse_mapping

ACCEPTED = ingest_pb2.RECORD_STATUS_ACCEPTED
DUPLICATE = ingest_pb2.RECORD_STATUS_DUPLICATE
CORRECTED = ingest_pb2.RECORD_STATUS_CORRECTED
REJECTED = ingest_pb2.RECORD_STATUS_REJECTED

NOW = int(time.time())  # passed to the domain checks; the server reads the same clock
GOOD_OCCURRED = {"seconds": NOW - 30 * 86_400}


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


_TM = time.gmtime(NOW)
_NOW_MONTH = _TM.tm_year * 12 + _TM.tm_mon - 1
# "The future" starts two months on, so a month turning while the tests run changes nothing.
# Per field: strategies of bad values with the reason each must be reported with. None as a
# value removes the field (a missing required field).
BAD: dict[str, st.SearchStrategy[tuple[Any, str]]] = {
    "month": st.one_of(
        st.integers(_NOW_MONTH + 2, 2100 * 12 + 11).map(lambda m: (_month(m), OUT_OF_RANGE)),
        st.integers(12, 1990 * 12 - 1).map(lambda m: (_month(m), OUT_OF_RANGE)),
        st.sampled_from(["2024-13", "2024-00", "24-05", "2024/05", "May 2024", "２０２４-05"]).map(
            lambda t: (t, INVALID_FORMAT)
        ),
        st.just((None, REQUIRED)),
    ),
    "product_line": st.one_of(st.just((None, REQUIRED)), st.integers(50, 2**31 - 1).map(lambda v: (v, UNKNOWN_ENUM))),
    "cost_type": st.one_of(
        st.just((None, REQUIRED)),
        st.just(("COST_TYPE_UNSPECIFIED", REQUIRED)),
        st.integers(7, 2**31 - 1).map(lambda v: (v, UNKNOWN_ENUM)),
    ),
    "amount_fen": st.one_of(st.integers(-(2**63), -1), st.integers(limits.MAX_MONEY_FEN + 1, 2**63 - 1)).map(
        lambda v: (v, OUT_OF_RANGE)
    ),
    "note": st.integers(limits.COST_NOTE_MAX + 1, limits.COST_NOTE_MAX + 400).map(lambda n: ("n" * n, TOO_LONG)),
    "reference": st.integers(limits.COST_REFERENCE_MAX + 1, 300).map(lambda n: ("R" * n, TOO_LONG)),
}


def cost(source_record_id: str = "k-1", **changes: Any) -> dict[str, Any]:
    """A valid cost record dict as of the fixed clock, with payload fields replaced."""
    record = raw("cost", source_record_id, source="costs", **{k: v for k, v in changes.items() if v is not None})
    for name, value in changes.items():
        if value is None:
            record["cost"].pop(name, None)
    record["occurred_at"] = dict(GOOD_OCCURRED)
    return record


@st.composite
def bad_costs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    """A cost record with a non-empty set of bad fields, and path -> reason for each."""
    names = draw(st.sets(st.sampled_from(sorted(BAD)), min_size=1))
    changes: dict[str, Any] = {}
    expected: dict[str, str] = {}
    for name in sorted(names):
        value, reason = draw(BAD[name], label=name)
        changes[name] = value
        expected[f"cost.{name}"] = reason
    record = cost(**{k: v for k, v in changes.items() if v is not None})
    for name, value in changes.items():
        if value is None:
            record["cost"].pop(name, None)
    return record, expected


def test_a_valid_cost_record_passes_normalised() -> None:
    checked = validate_record(cost(note="  by bandwidth  "), now=NOW)
    assert checked.ok and checked.record is not None
    assert checked.record["cost"] == {
        "month": "2024-05",
        "product_line": "PRODUCT_LINE_DEDICATED_LINE",
        "cost_type": "COST_TYPE_NETWORK",
        "amount_fen": 700_000,
        "note": "by bandwidth",
        "reference": "CC-4410",
    }
    assert [n.field for n in checked.normalisations] == ["cost.note"]
    # The bounds themselves are accepted: this month, 1990-01, zero and the largest amount.
    for month, amount in [(_month(_NOW_MONTH), 0), ("1990-01", limits.MAX_MONEY_FEN)]:
        assert validate_record(cost(month=month, amount_fen=amount), now=NOW).ok


@settings(max_examples=300, deadline=None)
@given(bad_costs())
def test_every_bad_cost_field_is_reported_with_its_path_and_reason(case: tuple[dict[str, Any], dict[str, str]]) -> None:
    record, expected = case
    checked = validate_record(record, now=NOW)
    assert not checked.ok
    assert {v.field: v.reason for v in checked.violations} == expected
    assert len(checked.violations) == len(expected)


def test_erasure_blanks_the_note_and_keeps_the_amounts() -> None:
    blanked = blank_record(cost())
    assert "note" not in blanked["cost"]
    assert blanked["cost"]["amount_fen"] == 700_000 and blanked["cost"]["reference"] == "CC-4410"


# --- over gRPC --------------------------------------------------------------------------------


async def stream(server: Running, records: list[dict[str, Any]]) -> list[ingest_pb2.RecordResult]:
    return [r async for r in server.stub.IngestRecords(iter([dict_to_record(r) for r in records]))]


_runs = itertools.count()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bad=st.lists(bad_costs(), min_size=1, max_size=4),
    good_amounts=st.lists(st.integers(0, limits.MAX_MONEY_FEN), min_size=1, max_size=3),
    order=st.randoms(use_true_random=False),
)
async def test_a_mixed_cost_batch_accepts_the_good_and_reports_every_bad_field(
    server: Running, bad: list[tuple[dict[str, Any], dict[str, str]]], good_amounts: list[int], order: Any
) -> None:
    run = next(_runs)  # one server for every example: ids unique per example
    cases: list[tuple[dict[str, Any], dict[str, str] | None]] = [
        (cost(f"r{run}-good-{i}", amount_fen=amount), None) for i, amount in enumerate(good_amounts)
    ]
    for i, (bad_record, violations) in enumerate(bad):
        bad_record["source_record_id"] = f"r{run}-bad-{i}"
        cases.append((bad_record, violations))
    order.shuffle(cases)
    before = (await server.stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())).last_sequence
    results = await stream(server, [record for record, _ in cases])
    assert [r.source_record_id for r in results] == [record["source_record_id"] for record, _ in cases]
    for (_record, expected), result in zip(cases, results, strict=True):
        if expected is None:
            assert result.status == ACCEPTED and not result.violations
        else:
            assert result.status == REJECTED and result.quarantine_id
            assert {v.field: v.reason for v in result.violations} == expected
    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest(after_sequence=before))]
    assert [(e.record.source_record_id, e.record.cost.amount_fen) for e in log] == [
        (record["source_record_id"], record["cost"]["amount_fen"]) for record, expected in cases if expected is None
    ]


async def test_cost_records_are_idempotent_on_source_and_id(server: Running) -> None:
    first = await stream(server, [cost("k-1"), cost("k-2")])
    assert [r.status for r in first] == [ACCEPTED, ACCEPTED]
    again = await stream(server, [cost("k-1"), cost("k-2", amount_fen=650_000)])
    assert [r.status for r in again] == [DUPLICATE, CORRECTED]
    assert again[0].sequence == first[0].sequence and again[1].version == 2
    other_source = cost("k-1")
    other_source["source"] = "finance"
    [third] = await stream(server, [other_source])
    assert third.status == ACCEPTED and third.version == 1
    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [(e.record.source, e.record.source_record_id, e.version) for e in log] == [
        ("costs", "k-1", 1),
        ("costs", "k-2", 1),
        ("costs", "k-2", 2),
        ("finance", "k-1", 1),
    ]
    assert log[2].record.cost.amount_fen == 650_000


async def test_a_quarantined_cost_is_replayed_once_corrected(server: Running) -> None:
    [result] = await stream(server, [cost("q-1", amount_fen=-1)])
    assert result.status == REJECTED
    stub = server.stub
    replay = await stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=[result.quarantine_id]))
    assert replay.moved == 0 and replay.still_rejected == 1
    listing = await stub.ListQuarantine(ingest_pb2.ListQuarantineRequest(reason="cost.amount_fen"))
    assert [e.record.source_record_id for e in listing.entries] == ["q-1"]
    assert listing.entries[0].record.cost.amount_fen == -1  # kept as received
    fixed = ingest_pb2.QuarantineCorrection(
        quarantine_id=result.quarantine_id, record=dict_to_record(cost("q-1", amount_fen=42_000))
    )
    replay = await stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(corrections=[fixed]))
    assert replay.moved == 1 and [r.status for r in replay.results] == [ACCEPTED]
    log = [e async for e in stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [(e.record.source_record_id, e.record.cost.amount_fen) for e in log] == [("q-1", 42_000)]
    assert not (await stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())).entries


COST_MAPPING = {
    "kind": "cost",
    "fields": {
        "source": {"value": "finance-csv"},
        "source_record_id": "cost_id",
        "customer_id": "account",
        "occurred_at": "booked_at",
        "cost.month": "month",
        "cost.product_line": {"column": "product", "map": {"专线": "DEDICATED_LINE"}},
        "cost.cost_type": "type",
        "cost.amount_fen": "amount",
        "cost.reference": "ref",
    },
}


async def test_cost_rows_are_imported_through_a_mapping(server: Running, tmp_path: pathlib.Path) -> None:
    data = tmp_path / "costs.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cost_id", "account", "booked_at", "month", "product", "type", "amount", "ref"])
        writer.writerow(["K1", "C-1", "2024-06-02", "2024-05", "专线", "network", "400000", "CC-1"])
        writer.writerow(["K2", "C-1", "2024-06-02", "2024-05", "cloud", "channel_commission", "25000", ""])
        writer.writerow(["K3", "C-2", "2024-06-02", "2024-05", "voice", "subsidy", "-3", ""])  # negative
        writer.writerow(["K4", "C-2", "2024-06-02", "2024-05", "voice", "", "100", ""])  # no type
    mapping = parse_mapping(COST_MAPPING)
    summary = await asyncio.to_thread(import_file, data, mapping, server.address, show_progress=False)
    assert (summary.rows, summary.accepted, summary.rejected) == (4, 2, 2)
    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [(e.record.source_record_id, e.record.cost.cost_type, e.record.cost.amount_fen) for e in log] == [
        ("K1", ingest_pb2.COST_TYPE_NETWORK, 400_000),
        ("K2", ingest_pb2.COST_TYPE_CHANNEL_COMMISSION, 25_000),
    ]
    again = await asyncio.to_thread(import_file, data, mapping, server.address, show_progress=False)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 2, 2)
