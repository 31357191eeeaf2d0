"""Cost records (costs.py): off by default, valid, in order, matching the truth, and realistic margins."""

from __future__ import annotations

import collections
import json

import pytest
from google.protobuf import json_format
from typer.testing import CliRunner

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import generate
from telco360_datagen.cli import app
from telco360_datagen.tests.helpers import problems

LINE = common_pb2.ProductLine


@pytest.fixture(scope="module")
def base():
    return generate(400, 24, seed=11, cost_records=True)


@pytest.fixture(scope="module")
def records(base):
    return list(base.records())


def test_costs_are_off_by_default_and_change_no_other_record(records) -> None:
    plain = generate(400, 24, seed=11)
    assert plain.truth.costs == {}
    without = [r.SerializeToString(deterministic=True) for r in plain.records()]
    assert without == [r.SerializeToString(deterministic=True) for r in records if not r.HasField("cost")]


def test_cost_records_are_valid_in_order_and_of_every_type(base, records) -> None:
    costs = [r for r in records if r.HasField("cost")]
    assert costs and [r.source_record_id for r in costs if problems(r)] == []
    times = [r.occurred_at.seconds for r in records]
    assert times == sorted(times)
    assert {r.cost.cost_type for r in costs} == set(range(1, 7))
    assert {r.source for r in costs} == {"finance"}
    assert len({(r.source, r.source_record_id) for r in costs}) == len(costs)
    for r in costs:  # booked inside their own month, like the bills
        assert r.occurred_at.ToDatetime().strftime("%Y-%m") == r.cost.month
    assert {r.cost.month for r in costs} == set(base.months)


def test_the_truth_holds_every_booked_cost(base, records) -> None:
    booked: collections.Counter[tuple[str, str]] = collections.Counter()
    by_type: collections.Counter[tuple[str, str, int]] = collections.Counter()
    for r in records:
        if r.HasField("cost"):
            booked[(r.customer_id, r.cost.month)] += r.cost.amount_fen
            by_type[(r.customer_id, r.cost.month, r.cost.cost_type)] += r.cost.amount_fen
    truth = base.truth
    for (cid, month), amount in booked.items():
        assert truth.monthly_cost(cid, month) == amount
    for (cid, month, kind), amount in list(by_type.items())[:2000]:
        assert truth.monthly_cost(cid, month, kind) == amount
    assert sum(truth.monthly_cost(c, m) for c in truth.accounts for m in truth.months) == sum(booked.values())
    cid, month = next(iter(booked))
    assert truth.monthly_margin(cid, month) == truth.monthly_total(cid, month) - booked[(cid, month)]


def _line_margin(base) -> dict[int, float]:
    fee: collections.Counter[int] = collections.Counter()
    cost: collections.Counter[int] = collections.Counter()
    for cid, lines in base.truth.line_fees.items():
        for line, column in lines.items():
            fee[line] += sum(column)
        for (line, kind), column in base.truth.costs[cid].amounts.items():
            if kind in (ingest_pb2.COST_TYPE_NETWORK, ingest_pb2.COST_TYPE_ICT_PROJECT):
                cost[line] += sum(column)
    return {line: 1 - cost[line] / fee[line] for line in fee if fee[line]}


def test_margins_vary_by_product_line_and_a_few_accounts_lose_money(base) -> None:
    line = _line_margin(base)
    assert line[LINE.PRODUCT_LINE_ICT_PROJECT] < line[LINE.PRODUCT_LINE_DEDICATED_LINE] < line[LINE.PRODUCT_LINE_VOICE]
    assert line[LINE.PRODUCT_LINE_DEDICATED_LINE] < line[LINE.PRODUCT_LINE_MOBILE_DATA]
    truth = base.truth
    year = list(truth.months[-12:])
    rates = {cid: truth.margin_rate(cid, year) for cid in truth.accounts}
    known = {cid: r for cid, r in rates.items() if r is not None}
    losing = {cid for cid, r in known.items() if r < 0}
    assert 0.01 <= len(losing) / len(known) <= 0.08
    assert all("loss_making" in truth.costs[cid].traits for cid in losing)
    healthy = [r for cid, r in known.items() if "loss_making" not in truth.costs[cid].traits]
    assert 0.3 < sorted(healthy)[len(healthy) // 2] < 0.6  # a typical account keeps 30-60 %


def test_discounts_subsidies_and_commissions_follow_the_account(base) -> None:
    truth = base.truth
    traits = collections.Counter(t for c in truth.costs.values() for t in c.traits)
    assert 0.2 < traits["discounted"] / len(truth.costs) < 0.4
    assert 0.1 < traits["subsidised"] / len(truth.costs) < 0.3
    for cid, account in truth.costs.items():
        kinds = {kind for (_, kind), column in account.amounts.items() if sum(column)}
        assert (ingest_pb2.COST_TYPE_DISCOUNT in kinds) == ("discounted" in account.traits), cid
        assert (ingest_pb2.COST_TYPE_CHANNEL_COMMISSION in kinds) == ("partner_channel" in account.traits), cid
        if "subsidised" not in account.traits:
            assert ingest_pb2.COST_TYPE_SUBSIDY not in kinds, cid
        if any(sum(column) for column in truth.line_fees[cid].values()):
            assert ingest_pb2.COST_TYPE_NETWORK in kinds and ingest_pb2.COST_TYPE_SERVICE in kinds, cid


def test_bad_cost_records_are_flagged_with_a_correction() -> None:
    base = generate(60, 6, seed=3, cost_records=True, bad_record_share=0.05)
    bad = [b for b in (t for _, t in base.labelled_records()) if b is not None and b.kind == "NEGATIVE_COST"]
    assert bad and all(b.field == "cost.amount_fen" and b.corrected.cost.amount_fen > 0 for b in bad)


def test_cli_writes_cost_records_and_their_truth(tmp_path) -> None:
    out, truth = tmp_path / "base.jsonl", tmp_path / "truth.json"
    args = ["--accounts", "20", "--months", "4", "--seed", "2", "--out", str(out), "--truth", str(truth), "--costs"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    parsed = [json_format.Parse(line, ingest_pb2.Record()) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = generate(20, 4, seed=2, cost_records=True)
    assert parsed == list(expected.records())
    payload = json.loads(truth.read_text(encoding="utf-8"))
    booked: collections.Counter[str] = collections.Counter()
    for r in parsed:
        if r.HasField("cost"):
            booked[f"{r.customer_id}/{r.cost.month}"] += r.cost.amount_fen
    assert {f"{c}/{m}": v for c, months in payload["monthly_costs_fen"].items() for m, v in months.items()} == booked
