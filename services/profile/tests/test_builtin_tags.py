"""Each built-in tag on crafted accounts, including the fee-drop thresholds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from services.profile.domain.billing import RevenueBase
from services.profile.domain.builtin_tags import BUILTIN_TAGS
from services.profile.domain.features import FeatureResult
from services.profile.domain.schema import type_map
from services.profile.domain.tags import compile_rule, evaluate_rules
from services.profile.store.codec import loads
from services.profile.store.models import Account, AccountTag
from services.profile.tests.builders import NOW, Log

DAY = dt.timedelta(days=1)
TYPES = type_map({})
RULES = {t.tag_id: compile_rule(t.tag_id, 1, t.expression, TYPES) for t in BUILTIN_TAGS}


def holds(tag_id: str, **features) -> bool:
    result = FeatureResult("X", {"status": "ACTIVE", **features})
    return evaluate_rules([RULES[tag_id]], [result], TYPES).held[tag_id][0]


def tags_of(store, cid: str) -> set[str]:
    with store.db.session() as s:
        return set(s.execute(select(AccountTag.tag_id).where(AccountTag.customer_id == cid)).scalars())


@pytest.mark.parametrize(
    "share, tier",
    [
        (0, "value_diamond"),
        (4.99, "value_diamond"),
        (5, "value_emerald"),
        (14.9, "value_emerald"),
        (15, "value_platinum"),
        (29.9, "value_platinum"),
        (30, "value_sapphire"),
        (49.9, "value_sapphire"),
        (50, "value_gold"),
        (74.9, "value_gold"),
        (75, "value_crystal"),
        (99.5, "value_crystal"),
    ],
)
def test_value_tiers_by_revenue_share(share: float, tier: str) -> None:
    tiers = [t for t in RULES if t.startswith("value_")]
    held = [t for t in tiers if holds(t, fee_total_sum_12m=1000.0, revenue_cum_share_pct=share)]
    assert held == [tier]
    assert not any(holds(t, fee_total_sum_12m=0.0, revenue_cum_share_pct=share) for t in tiers)


def test_revenue_share_is_what_richer_accounts_hold() -> None:
    base = RevenueBase([60, 20, 10, 10])
    assert base.cum_share_pct(np.array([60.0, 20.0, 10.0])).tolist() == [0.0, 60.0, 80.0]


def test_vip_loyal_and_rfm() -> None:
    assert holds("vip", fee_total_sum_12m=1.0, revenue_cum_share_pct=10.0)
    assert holds("vip", tier="EMERALD")
    assert not holds("vip", fee_total_sum_12m=1.0, revenue_cum_share_pct=20.0, tier="GOLD")
    loyal = dict(tenure_months=40.0, fee_total_3v3_pct=-2.0, competitor_active_approach=False, complaints_90d=0.0)
    assert holds("loyal", **loyal)
    assert not holds("loyal", **{**loyal, "tenure_months": 35.0})
    assert not holds("loyal", **{**loyal, "competitor_active_approach": True})
    champion = dict(
        days_since_last_payment=10.0,
        days_since_last_interaction=100.0,
        interactions_365d=6.0,
        revenue_cum_share_pct=20.0,
    )
    assert holds("rfm_champion", **champion)
    assert not holds("rfm_champion", **{**champion, "interactions_365d": 5.0})
    assert holds("rfm_at_risk", revenue_cum_share_pct=40.0, days_since_last_interaction=121.0)
    assert holds("rfm_at_risk", revenue_cum_share_pct=40.0)  # never met at all
    assert not holds("rfm_at_risk", revenue_cum_share_pct=40.0, days_since_last_interaction=120.0)
    assert holds(
        "rfm_hibernating", revenue_cum_share_pct=80.0, interactions_365d=1.0, days_since_last_interaction=200.0
    )
    assert not holds(
        "rfm_hibernating", revenue_cum_share_pct=80.0, interactions_365d=2.0, days_since_last_interaction=200.0
    )


def test_risk_and_lifecycle_tags() -> None:
    assert holds("early_warning", complaints_90d=2.0, fault_tickets_90d=1.0)
    assert holds("early_warning", risk_band="HIGH")
    assert holds("early_warning", days_overdue=60.0)
    assert not holds(
        "early_warning",
        complaints_90d=1.0,
        fault_tickets_90d=1.0,
        days_overdue=59.0,
        satisfaction_index=3.0,
        risk_band="MEDIUM",
        competitor_active_approach=False,
    )
    assert holds("dormant", fee_total_avg_3m=0.0)
    assert not holds("dormant", fee_total_avg_3m=1.0)
    assert not holds("dormant", status="TERMINATED", fee_total_avg_3m=0.0)
    assert holds("competitor_threat", competitor_active_approach=True)
    assert holds("competitor_threat", competitor_present=True, months_to_contract_end=6.0)
    assert not holds("competitor_threat", competitor_present=True, months_to_contract_end=7.0)
    assert holds("contract_ending_soon", months_to_contract_end=0.0)
    assert holds("contract_ending_soon", months_to_contract_end=3.0)
    assert not holds("contract_ending_soon", months_to_contract_end=4.0)
    assert not holds("contract_ending_soon", months_to_contract_end=-1.0)
    assert holds("low_satisfaction", satisfaction_index=2.9)
    assert not holds("low_satisfaction", satisfaction_index=3.0)
    assert holds("low_satisfaction", complaints_90d=3.0)


REF = {"2026-07": 1000, "2026-08": 1000, "2026-09": 1000}


@pytest.mark.parametrize(
    "cid, voice_oct, tagged",
    [
        ("LINE20", 800, True),  # the voice line down exactly 20 % (total only -1.8 %)
        ("LINE21", 790, True),
        ("LINE19", 801, False),  # down 19.9 %
    ],
)
def test_fee_drop_line_threshold(sqlite_store, log: Log, cid: str, voice_oct: int, tagged: bool) -> None:
    fees = {m: {"voice": v, "cloud": 10000} for m, v in REF.items()}
    fees["2026-10"] = {"voice": voice_oct, "cloud": 10000}
    sqlite_store.apply([log.account(cid), *log.bills(cid, fees)])
    assert ("fee_drop" in tags_of(sqlite_store, cid)) is tagged


@pytest.mark.parametrize(
    "cid, oct_total, tagged",
    [
        ("TOT10", 9000, True),  # total down exactly 10 %; no line down 20 %
        ("TOT11", 8900, True),
        ("TOT9", 9001, False),  # down 9.99 %
    ],
)
def test_fee_drop_total_threshold(sqlite_store, log: Log, cid: str, oct_total: int, tagged: bool) -> None:
    # Two lines falling alike: each line's fall equals the total's, below the 20 % line rule.
    fees = {m: {"voice": 5000, "broadband": 5000} for m in REF}
    fees["2026-10"] = {"voice": oct_total // 2, "broadband": oct_total - oct_total // 2}
    sqlite_store.apply([log.account(cid), *log.bills(cid, fees)])
    assert ("fee_drop" in tags_of(sqlite_store, cid)) is tagged


def test_tags_from_records_end_to_end(sqlite_store, log: Log) -> None:
    recs = [log.account("E1", contract_end_month="2027-01"), *log.flat_bills("E1", 6, {"voice": 1000})]
    recs += [log.rec("service_event", "E1", {"type": 4, "survey_answers": {"q1": 2, "q2": 3, "q3": 2}}, NOW - 20 * DAY)]
    recs += [log.rec("competitor", "E1", {"competitor": "Rival", "active_approach": True}, NOW - 5 * DAY)]
    recs += [log.account("E2"), *log.flat_bills("E2", 3, {"voice": 0}, last="2026-10")]
    sqlite_store.apply(recs)
    e1 = tags_of(sqlite_store, "E1")
    assert {"contract_ending_soon", "low_satisfaction", "competitor_threat", "early_warning"} <= e1
    assert "fee_drop" not in e1
    assert "dormant" in tags_of(sqlite_store, "E2")


def test_value_tiers_set_on_a_partial_base_are_re_ranked_when_the_base_moves(sqlite_store, log: Log) -> None:
    # A bulk load: the small account is recomputed first, against a base that does not yet
    # hold the 19 larger ones, and keeps that share until the base is re-ranked.
    sqlite_store.apply([log.account("SMALL"), *log.flat_bills("SMALL", 12, {"voice": 1000})])
    big = [f"BIG{i:02d}" for i in range(19)]
    sqlite_store.apply([r for cid in big for r in (log.account(cid), *log.flat_bills(cid, 12, {"voice": 5000}))])
    assert "value_diamond" in tags_of(sqlite_store, "SMALL")  # its share of the partial base
    assert sqlite_store.shares_stale()

    assert sqlite_store.refresh_revenue_shares(chunk=7) >= 1  # 20 accounts in three write transactions
    assert not sqlite_store.shares_stale()
    assert "value_crystal" in tags_of(sqlite_store, "SMALL") and "value_diamond" not in tags_of(sqlite_store, "SMALL")
    # The patched share is the one a full point-in-time computation gives now.
    with sqlite_store.db.session() as s:
        stored = {
            cid: loads(f)["revenue_cum_share_pct"]
            for cid, f in s.execute(select(Account.customer_id, Account.features))
        }
    fresh, _ = sqlite_store.features(["SMALL", *big], None)
    assert {r.customer_id: r.features["revenue_cum_share_pct"] for r in fresh} == stored
    assert sqlite_store.refresh_revenue_shares() == 0  # nothing moved: nothing patched


def test_rfm_tags_follow_scored_segments_once_scored() -> None:
    old_champion = {"days_since_last_payment": 10.0, "interactions_365d": 8.0, "revenue_cum_share_pct": 10.0}
    # Scored segments decide, whatever the fallback rule would say.
    assert not holds("rfm_champion", rfm_segment="lost", **old_champion)
    assert holds("rfm_hibernating", rfm_segment="lost", **old_champion)
    assert holds("rfm_champion", rfm_segment="champions")
    assert holds("rfm_at_risk", rfm_segment="cannot_lose")
    assert holds("rfm_loyal", rfm_segment="potential_loyalist") and not holds("rfm_loyal", rfm_segment="new")


def test_lifetime_value_and_outlier_tags() -> None:
    assert holds("clv_top", clv_tier="high") and not holds("clv_top", clv_tier="medium")
    assert holds("clv_negative", clv_fen=-1.0) and not holds("clv_negative", clv_fen=0.0)
    assert not holds("clv_negative")  # never scored: no lifetime value, no tag
    assert holds("outlier_suspect", outlier_flagged=True)
    assert not holds("outlier_suspect", outlier_flagged=False) and not holds("outlier_suspect")
