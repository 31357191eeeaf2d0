"""Ground-truth helpers, argument checks, seasonality and growth of the planned fees."""

from __future__ import annotations

import statistics

import pytest

from telco360.common.v1 import common_pb2
from telco360_datagen import generate


@pytest.fixture(scope="module")
def base():
    return generate(1500, 24, seed=8, end_month="2026-09")


def test_truth_helpers_agree(base) -> None:
    truth = base.truth
    assert truth.months[0] == "2024-10" and truth.months[-1] == "2026-09" and len(truth.months) == 24
    churned = truth.churned()
    for cid, month in list(churned.items())[:50]:
        assert truth.churns_within(cid, truth.months[0], 24)
        assert not truth.churns_within(cid, month, 3)
        assert truth.is_customer(cid, month)
    stayer = next(cid for cid in truth.accounts if cid not in churned)
    assert not truth.churns_within(stayer, truth.months[0], 24)
    totals = truth.monthly_totals
    for cid in list(truth.accounts)[:50]:
        for month, fen in totals[cid].items():
            assert truth.monthly_total(cid, month) == fen > 0
    assert truth.monthly_total(stayer, "2020-01") == 0


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        generate(0, 12, seed=1)
    with pytest.raises(ValueError):
        generate(10, 0, seed=1)
    with pytest.raises(ValueError):
        generate(10, 12, seed=1, end_month="2026-13")
    with pytest.raises(ValueError):
        generate(10, 12, seed=1, bad_record_share=0.9)


def _mean_fee(base, industry: str, line: int, calendar_months: set[str]) -> float:
    values = []
    for cid, acct in base.truth.accounts.items():
        if acct.industry != industry or acct.churn_month or acct.latent_churn_month or acct.false_alarm_month:
            continue
        fees = base.truth.line_fees[cid].get(line)
        if not fees:
            continue
        picked = [f for m, f in zip(base.truth.months, fees, strict=True) if m[5:] in calendar_months and f]
        around = [f for f in fees if f]
        if picked and around:
            values.append(statistics.mean(picked) / statistics.mean(around))
    return statistics.mean(values)


def test_seasonality_schools_dip_in_holidays_retail_peaks_in_november(base) -> None:
    mobile = common_pb2.PRODUCT_LINE_MOBILE_DATA
    assert _mean_fee(base, "EDU", mobile, {"02", "08"}) < 0.8 * _mean_fee(base, "EDU", mobile, {"09", "10"})
    assert _mean_fee(base, "RETAIL", mobile, {"11"}) > 1.08 * _mean_fee(base, "RETAIL", mobile, {"03", "04"})


def test_cloud_and_iot_grow(base) -> None:
    for line in (common_pb2.PRODUCT_LINE_CLOUD, common_pb2.PRODUCT_LINE_IOT):
        ratios = []
        for cid, acct in base.truth.accounts.items():
            fees = base.truth.line_fees[cid].get(line)
            if fees and fees[0] and fees[-1] and not acct.latent_churn_month and not acct.churn_month:
                ratios.append(fees[-1] / fees[0])
        assert statistics.median(ratios) > 1.15
