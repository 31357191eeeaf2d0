"""Distributions and the churn signal: realistic rates and ranges, churners show more warning."""

from __future__ import annotations

import collections
import statistics

import pytest

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import generate
from telco360_datagen.months import month_str, parse_month


@pytest.fixture(scope="module")
def large():
    """Plan only (records are not iterated): cheap even for 3,000 accounts."""
    return generate(3000, 24, seed=3)


@pytest.fixture(scope="module")
def signals_base():
    base = generate(1200, 24, seed=21)
    return base, list(base.records())


def test_churn_rate_is_two_to_four_percent_per_quarter(large) -> None:
    rates = list(large.truth.quarterly_churn_rates().values())[1:]  # first quarter has a ramp-up
    assert 0.02 <= statistics.mean(rates) <= 0.04
    assert all(0.01 <= r <= 0.06 for r in rates)


def test_churners_mostly_warned_some_without_warning(large) -> None:
    churners = [a for a in large.truth.accounts.values() if a.churn_month]
    unwarned = sum(1 for a in churners if not a.warned) / len(churners)
    assert 0.08 <= unwarned <= 0.25
    assert all(a.warning_signals and a.warning_start_month < a.churn_month for a in churners if a.warned)
    stayers = [a for a in large.truth.accounts.values() if not a.churn_month]
    assert 0.05 <= sum(1 for a in stayers if a.false_alarm_month) / len(stayers) <= 0.15
    assert sum(1 for a in stayers if a.latent_churn_month) > 0
    assert 0 < sum(1 for a in churners if a.reactivated_month) < 0.2 * len(churners)


def test_propensity_drives_churn(large) -> None:
    churned = [a.propensity for a in large.truth.accounts.values() if a.churn_month]
    stayed = [a.propensity for a in large.truth.accounts.values() if not a.churn_month]
    assert statistics.mean(churned) > statistics.mean(stayed) + 0.2
    by_tier = collections.defaultdict(list)
    for a in large.truth.accounts.values():
        by_tier[a.tier].append(1.0 if a.churn_month else 0.0)
    assert statistics.mean(by_tier[1] + by_tier[2]) < statistics.mean(by_tier[6])


def test_tiers_follow_revenue_share_and_fees_are_in_key_account_ranges(large) -> None:
    truth = large.truth
    tiers = collections.Counter(a.tier for a in truth.accounts.values())
    assert set(tiers) == set(range(1, 7))
    assert tiers[1] < tiers[3] < tiers[6]
    first = truth.months[0]
    fees = {cid: truth.monthly_total(cid, first) for cid in truth.accounts if truth.monthly_total(cid, first) > 0}
    yuan = sorted(v / 100 for v in fees.values())
    assert yuan[0] >= 500 and yuan[-1] <= 30_000_000
    assert 5_000 <= statistics.median(yuan) <= 100_000
    by_tier = collections.defaultdict(list)
    for cid, v in fees.items():
        by_tier[truth.accounts[cid].tier].append(v)
    assert min(by_tier[1]) >= max(by_tier[6]) * 0.5
    assert statistics.median(by_tier[1]) > 10 * statistics.median(by_tier[6])


def test_groups_have_branches_in_the_hierarchy(large) -> None:
    groups = large.truth.groups()
    members = sum(len(v) for v in groups.values())
    assert 0.15 * 3000 <= members + len(groups) <= 0.3 * 3000
    for hq, children in groups.items():
        assert not large.truth.accounts[hq].parent_customer_id
        assert all(large.truth.accounts[c].group_root == hq for c in children)
        assert sorted(children) == sorted(large.truth.children(hq))


def _per_account_month(records, base) -> dict[tuple[str, str], collections.Counter]:
    counts: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for r in records:
        month = r.occurred_at.ToDatetime().strftime("%Y-%m")
        c = counts[(r.customer_id, month)]
        if r.HasField("service_event"):
            event = r.service_event
            if event.type in (ingest_pb2.SERVICE_EVENT_TYPE_COMPLAINT, ingest_pb2.SERVICE_EVENT_TYPE_FAULT_TICKET):
                c["tickets"] += 1
            if event.type == ingest_pb2.SERVICE_EVENT_TYPE_SATISFACTION_SURVEY:
                c["survey_sum"] += sum(event.survey_answers.values())
                c["survey_n"] += len(event.survey_answers)
        elif r.HasField("interaction") and r.interaction.channel == ingest_pb2.INTERACTION_CHANNEL_VISIT:
            c["visits"] += 1
        elif r.HasField("competitor") and r.competitor.active_approach:
            c["competitor"] += 1
        elif r.HasField("billing"):
            c["fee"] += r.billing.fee_fen
            if r.billing.payment_status == ingest_pb2.PAYMENT_STATUS_OVERDUE:
                c["overdue"] = 1
    return counts


def test_churners_show_more_warning_signals_than_non_churners(signals_base) -> None:
    base, records = signals_base
    counts = _per_account_month(records, base)
    truth = base.truth

    def window(cid: str, churn: str) -> list[collections.Counter]:
        end = parse_month(churn)
        return [counts[(cid, month_str(m))] for m in range(end - 3, end)]

    churn_rows, stay_rows, fee_ratio_churn, fee_ratio_stay = [], [], [], []
    for cid, acct in truth.accounts.items():
        if acct.churn_month and parse_month(acct.churn_month) - parse_month(truth.months[0]) >= 9:
            rows = window(cid, acct.churn_month)
            churn_rows += rows
            before = [counts[(cid, month_str(parse_month(acct.churn_month) - k))]["fee"] for k in (9, 8, 7)]
            if sum(before):
                fee_ratio_churn.append(sum(r["fee"] for r in rows) / sum(before))
        elif not acct.churn_month and acct.first_month == truth.months[0]:
            rows = window(cid, truth.months[-1])
            stay_rows += rows
            before = [counts[(cid, truth.months[-1 - k])]["fee"] for k in (9, 8, 7)]
            if sum(before):
                fee_ratio_stay.append(sum(r["fee"] for r in rows) / sum(before))

    def mean(rows, key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    assert len(churn_rows) > 100 and len(stay_rows) > 1000
    assert mean(churn_rows, "tickets") > 1.3 * mean(stay_rows, "tickets")
    assert mean(churn_rows, "competitor") > 3 * mean(stay_rows, "competitor")
    assert mean(churn_rows, "overdue") > 2 * mean(stay_rows, "overdue")
    survey = lambda rows: sum(r["survey_sum"] for r in rows) / sum(r["survey_n"] for r in rows)  # noqa: E731
    assert survey(churn_rows) < survey(stay_rows) - 0.2
    assert statistics.median(fee_ratio_churn) < statistics.median(fee_ratio_stay) - 0.05
    # Not trivial: plenty of stayers show the same kind of signals.
    assert sum(1 for r in stay_rows if r["competitor"] or r["overdue"]) > 0.03 * len(stay_rows)


def test_visits_fall_before_churn_when_the_signal_is_present(signals_base) -> None:
    base, records = signals_base
    counts = _per_account_month(records, base)
    with_signal, without = [], []
    for cid, acct in base.truth.accounts.items():
        if acct.churn_month and acct.warned:
            end = parse_month(acct.churn_month)
            late = sum(counts[(cid, month_str(end - k))]["visits"] for k in (1, 2))
            early = sum(counts[(cid, month_str(end - k))]["visits"] for k in (9, 10))
            (with_signal if "fewer_visits" in acct.warning_signals else without).append(late - early)
    assert statistics.mean(with_signal) < statistics.mean(without)
