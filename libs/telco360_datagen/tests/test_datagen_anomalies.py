"""Planted anomalies: off by default, the documented share and kinds, visible in the records, truth consistent."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import generate
from telco360_datagen.anomalies import KINDS
from telco360_datagen.tests.helpers import problems

ACCOUNTS, MONTHS, SHARE = 600, 12, 0.04
USAGE_LINES = {1, 2, 6}  # voice, mobile data, IoT


@pytest.fixture(scope="module")
def planted():
    base = generate(ACCOUNTS, MONTHS, seed=21, anomaly_share=SHARE)
    return base, list(base.records())


def _bills(records) -> dict[str, dict[str, list[ingest_pb2.MonthlyBilling]]]:
    out: dict[str, dict[str, list[ingest_pb2.MonthlyBilling]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.WhichOneof("payload") == "billing":
            out[r.customer_id][r.billing.month].append(r.billing)
    return out


def test_off_by_default_and_share_checked() -> None:
    base = generate(50, 8, seed=3)
    assert base.truth.anomalies == {} and all(p.planted is None for p in base.plans)
    with pytest.raises(ValueError, match="anomaly_share"):
        generate(10, 8, seed=3, anomaly_share=0.3)


def test_share_and_kinds(planted) -> None:
    base, _ = planted
    truth = base.truth
    assert len(truth.anomalies) == round(SHARE * ACCOUNTS)
    kinds = Counter(a.kind for a in truth.anomalies.values())
    assert set(kinds) == set(KINDS)
    assert kinds["fraud_like"] < kinds["usage_surge"]
    for cid, anomaly in truth.anomalies.items():
        acct = truth.accounts[cid]
        assert acct.churn_month is None and anomaly.month == truth.months[-1]
        assert anomaly.signals and anomaly.kind in KINDS and anomaly.detail
    assert len(set(truth.anomalies.values())) == len(truth.anomalies)


def test_other_accounts_unchanged(planted) -> None:
    base, _ = planted
    plain = generate(ACCOUNTS, MONTHS, seed=21)
    others = [cid for cid in plain.truth.accounts if cid not in base.truth.anomalies]
    assert others
    for cid in others:
        assert base.truth.line_fees[cid] == plain.truth.line_fees[cid]
        assert base.truth.accounts[cid] == plain.truth.accounts[cid]


def test_records_show_what_was_planted(planted) -> None:
    base, records = planted
    assert not [p for r in records for p in problems(r)]
    bills = _bills(records)
    months = base.truth.months
    last, before = months[-1], months[-2]
    added: Counter[str] = Counter()
    for r in records:
        if r.WhichOneof("payload") == "subscription" and r.subscription.action == ingest_pb2.SUBSCRIPTION_ACTION_ADDED:
            if r.customer_id in base.truth.anomalies:
                added[r.customer_id, r.occurred_at.ToDatetime().strftime("%Y-%m")] += 1
    for cid, anomaly in base.truth.anomalies.items():
        # The truth's fees are what was billed, planted changes included.
        for month in months[-3:]:
            assert sum(b.fee_fen for b in bills[cid][month]) == base.truth.monthly_total(cid, month)
        if anomaly.kind == "arrears_rising_usage":
            for month in months[-3:]:
                assert all(b.days_overdue >= 35 for b in bills[cid][month])
                assert all(b.payment_status != ingest_pb2.PAYMENT_STATUS_PAID for b in bills[cid][month])
        if anomaly.kind == "usage_surge":
            usage = {
                m: {b.product_line: b.usage_quantity for b in bills[cid][m] if b.product_line in USAGE_LINES}
                for m in (before, last)
            }
            assert max(usage[last][ln] / usage[before][ln] for ln in usage[last] if usage[before].get(ln)) >= 2.0
        if anomaly.kind == "lines_burst":
            assert added[cid, last] >= 3
            assert sum(b.lines for b in bills[cid][last]) > 2 * sum(b.lines for b in bills[cid][before])
        if anomaly.kind == "fraud_like":
            assert added[cid, before] >= 3
            assert all(b.payment_status == ingest_pb2.PAYMENT_STATUS_OVERDUE for b in bills[cid][last])
