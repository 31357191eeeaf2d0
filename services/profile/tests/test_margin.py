"""Cost facts and margin features (issue #19) on builder-made accounts, against hand-computed values.

The clock is 2026-11-15 (builders.NOW); every account is billed monthly through 2026-10, so
2026-10 is each account's reference month. Account M1 (5,000,000 fen a month: voice
1,000,000 and dedicated line 4,000,000) carries these costs:

| month   | costs (fen)                                          | month cost |
|---------|------------------------------------------------------|------------|
| 2026-05 | service 200,000                                      | 200,000    |
| 2026-08 | network 3,000,000                                    | 3,000,000  |
| 2026-09 | network 3,000,000                                    | 3,000,000  |
| 2026-10 | network 3,000,000, discount 500,000 (booked 11-10)   | 3,500,000  |

so, over costed months only (months without a cost record count in neither fee nor cost):
- last month: cost 3,500,000, margin 1,500,000, rate 0.3;
- 3 months (08-10): cost 9,500,000 of fee 15,000,000: margin 5,500,000, rate 0.366666667;
- 12 months (4 costed): cost 9,700,000 of fee 20,000,000: margin 10,300,000, rate 0.515.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from services.profile.api import converters as cv
from services.profile.domain import erasure as er
from services.profile.domain.builtin_tags import BUILTIN_TAGS
from services.profile.domain.features import FeatureResult
from services.profile.domain.schema import BUILTIN_BY_NAME, type_map
from services.profile.domain.tags import compile_rule, evaluate_rules
from services.profile.peers.ingest import record_payload
from services.profile.store import MIGRATIONS_DIR, readmodel, views
from services.profile.store.models import AccountTag, CostFact
from services.profile.tests.builders import NOW, Log
from services.profile.usecases.profile import ProfileUseCases
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.db import Database, migrate

UTC = dt.UTC
FEES = {"voice": 1_000_000, "dedicated_line": 4_000_000}
PROFIT_TAGS = {"profitability_high", "profitability_medium", "profitability_low", "profitability_loss_making"}
TYPES = type_map({})
RULES = {t.tag_id: compile_rule(t.tag_id, 1, t.expression, TYPES) for t in BUILTIN_TAGS if t.tag_id in PROFIT_TAGS}
DISCOUNT_BOOKED = dt.datetime(2026, 11, 10, 9, tzinfo=UTC)


def m1_costs(log: Log) -> list:
    return [
        log.cost("M1", "2026-05", "voice", "service", 200_000),
        log.cost("M1", "2026-08", "dedicated_line", "network", 3_000_000),
        log.cost("M1", "2026-09", "dedicated_line", "network", 3_000_000),
        log.cost("M1", "2026-10", "dedicated_line", "network", 3_000_000),
        log.cost("M1", "2026-10", "voice", "discount", 500_000, occurred=DISCOUNT_BOOKED),
    ]


def base(log: Log) -> list:
    """M1 (costed), M2 (never costed), M3 (loss-making ICT month): 12 months of bills each."""
    records = [log.account(c) for c in ("M1", "M2", "M3")]
    records += log.flat_bills("M1", 12, FEES) + log.flat_bills("M2", 12, FEES)
    records += log.flat_bills("M3", 12, {"ict_project": 1_000_000})
    records += m1_costs(log)
    records.append(log.cost("M3", "2026-10", "ict_project", "ict_project", 1_500_000))
    return records


def features(store, cid: str, as_of: dt.datetime | None = None) -> dict:
    [result], _ = store.features([cid], as_of)
    return result.features


def tags(store, cid: str) -> set[str]:
    with store.db.session() as s:
        return set(s.execute(select(AccountTag.tag_id).where(AccountTag.customer_id == cid)).scalars()) & PROFIT_TAGS


M1_EXPECTED = {
    "fee_total_last_month": 5_000_000.0,
    "cost_last_month_fen": 3_500_000.0,
    "margin_last_month_fen": 1_500_000.0,
    "margin_rate_last_month": 0.3,
    "cost_3m_fen": 9_500_000.0,
    "margin_3m_fen": 5_500_000.0,
    "margin_rate_3m": 0.366666667,
    "cost_12m_fen": 9_700_000.0,
    "margin_12m_fen": 10_300_000.0,
    "margin_rate_12m": 0.515,
    "cost_network_12m_fen": 9_000_000.0,
    "cost_service_12m_fen": 200_000.0,
    "cost_discount_12m_fen": 500_000.0,
    "cost_subsidy_12m_fen": 0.0,
    "cost_channel_commission_12m_fen": 0.0,
    "cost_ict_project_12m_fen": 0.0,
    "costed_months_12m": 4.0,
    "cost_last_month_missing": False,
}


def test_margin_features_match_the_hand_computed_values(store, log: Log) -> None:
    store.apply(base(log))
    got = features(store, "M1")
    assert {k: got.get(k) for k in M1_EXPECTED} == M1_EXPECTED
    assert tags(store, "M1") == {"profitability_high"}
    m3 = features(store, "M3")
    assert (m3["margin_last_month_fen"], m3["margin_3m_fen"], m3["margin_rate_3m"]) == (-500_000.0, -500_000.0, -0.5)
    assert m3["costed_months_12m"] == 1.0 and m3["cost_ict_project_12m_fen"] == 1_500_000.0
    assert tags(store, "M3") == {"profitability_loss_making"}


def test_missing_cost_is_missing_not_a_full_margin(store, log: Log) -> None:
    store.apply(base(log))
    m2 = features(store, "M2")
    assert m2["fee_total_last_month"] == 5_000_000.0
    assert m2["cost_last_month_missing"] is True and m2["costed_months_12m"] == 0.0
    margin = [k for k in m2 if k.startswith(("margin_", "cost_")) and k != "cost_last_month_missing"]
    assert margin == []
    assert tags(store, "M2") == set()
    # Every margin feature is in the schema with its type.
    assert {k for k in M1_EXPECTED if k.startswith(("cost", "margin"))} <= set(BUILTIN_BY_NAME)
    assert BUILTIN_BY_NAME["cost_last_month_missing"].type == "bool"


def test_a_cost_booked_later_is_invisible_as_of_an_earlier_date(store, log: Log) -> None:
    store.apply(base(log))
    before = features(store, "M1", dt.datetime(2026, 11, 5, tzinfo=UTC))
    assert before["fee_total_last_month"] == 5_000_000.0  # the same reference month, 2026-10
    assert (before["cost_last_month_fen"], before["margin_last_month_fen"]) == (3_000_000.0, 2_000_000.0)
    assert before["cost_discount_12m_fen"] == 0.0 and before["margin_3m_fen"] == 6_000_000.0
    # Still in October: the reference month is September, with its own costs (07-09: 2 costed).
    earlier = features(store, "M1", dt.datetime(2026, 10, 31, 23, tzinfo=UTC))
    assert earlier["fee_reference_months_ago"] == 1.0
    assert (earlier["cost_last_month_fen"], earlier["margin_last_month_fen"]) == (3_000_000.0, 2_000_000.0)
    assert (earlier["cost_3m_fen"], earlier["margin_3m_fen"], earlier["margin_rate_3m"]) == (6e6, 4e6, 0.4)
    assert features(store, "M1") == features(store, "M1", NOW)


def test_costs_apply_idempotently_and_a_correction_replaces_its_record(store, log: Log) -> None:
    records = base(log)
    store.apply(records)
    store.apply(records)  # at-least-once delivery: the same entries again change nothing
    assert features(store, "M1")["cost_3m_fen"] == 9_500_000.0
    fix = log.cost(
        "M1",
        "2026-10",
        "dedicated_line",
        "network",
        2_000_000,
        srid="COST-M1-2026-10-dedicated_line-network",
        version=2,
        ingested=NOW - dt.timedelta(days=1),
    )
    store.apply([fix])
    got = features(store, "M1")
    assert (got["cost_last_month_fen"], got["margin_last_month_fen"]) == (2_500_000.0, 2_500_000.0)
    # Before the correction arrived the first version is what was known.
    assert features(store, "M1", NOW - dt.timedelta(days=2))["cost_last_month_fen"] == 3_500_000.0
    with store.db.session() as s:
        rows = s.execute(select(func.count()).select_from(CostFact).where(CostFact.customer_id == "M1")).scalar()
    assert rows == 6  # five records, one of them in two versions


def test_an_erasure_purging_facts_removes_the_cost_facts(store, log: Log) -> None:
    store.apply(base(log))
    view, _ = store.request_erasure("M1", "customer request", True, er.TRIGGER_REQUEST, ())
    assert view.removed["cost_records"] == 5
    kept, _ = store.request_erasure("M3", "customer request", False, er.TRIGGER_REQUEST, ())
    assert "cost_records" not in kept.removed  # no personal field: kept for aggregates
    with store.db.session() as s:
        left = dict(s.execute(select(CostFact.customer_id, func.count()).group_by(CostFact.customer_id)).all())
    assert left == {"M3": 1}


def holds(**features) -> set[str]:
    result = FeatureResult("X", {"status": "ACTIVE", **features})
    held = evaluate_rules(list(RULES.values()), [result], TYPES).held
    return {t for t, values in held.items() if values[0]}


@pytest.mark.parametrize(
    ("margin", "rate", "tier"),
    [
        (3_000_000.0, 0.35, "profitability_high"),
        (9_000_000.0, 0.80, "profitability_high"),
        (2_999_999.0, 0.90, "profitability_medium"),  # a high rate on a small margin
        (5_000_000.0, 0.3499, "profitability_medium"),
        (100_000.0, 0.15, "profitability_medium"),
        (100_000.0, 0.1499, "profitability_low"),
        (0.0, 0.0, "profitability_low"),
        (0.0, None, "profitability_low"),  # costed without fee and without cost
        (-1.0, -0.0001, "profitability_loss_making"),
        (-500_000.0, None, "profitability_loss_making"),  # cost without fee
    ],
)
def test_profitability_tiers_are_exclusive_with_documented_thresholds(
    margin: float, rate: float | None, tier: str
) -> None:
    features = {"margin_3m_fen": margin} | ({} if rate is None else {"margin_rate_3m": rate})
    assert holds(**features) == {tier}
    assert holds() == set()  # no costed month: no tier
    assert holds(margin_3m_fen=margin, margin_rate_3m=rate or 0.0, status="TERMINATED") == set()


def test_migration_0010_creates_the_cost_table(db_url: str) -> None:
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=1)
    try:
        with db.session() as s:
            assert str(s.execute(text("SELECT version_num FROM alembic_version")).scalar()) >= "0010"
            assert s.execute(select(func.count()).select_from(CostFact)).scalar() == 0
    finally:
        db.dispose()


def test_a_cost_log_entry_becomes_a_cost_fact_payload() -> None:
    record = ingest_pb2.Record(source="finance", source_record_id="K1", customer_id="M1")
    record.cost.month = "2026-10"
    record.cost.product_line = common_pb2.PRODUCT_LINE_DEDICATED_LINE
    record.cost.cost_type = ingest_pb2.COST_TYPE_NETWORK
    record.cost.amount_fen = 3_000_000
    record.cost.note = "allocated by bandwidth"
    kind, payload = record_payload(record)
    assert kind == "cost"
    assert (payload["month"], payload["product_line"], payload["cost_type"], payload["amount_fen"]) == (
        "2026-10",
        4,
        1,
        3_000_000,
    )


def test_customer360_spend_shows_cost_and_margin_live_and_stored(db_url: str, clock, log: Log) -> None:
    migrate(db_url, MIGRATIONS_DIR)
    store = ProfileUseCases(Database(db_url, workers=2), clock=clock, base_ttl_seconds=0, render_view=cv.render_view)
    try:
        store.install_builtin_tags()
        store.apply(base(log))
        hierarchy = readmodel.Hierarchy()
        for cid in ("M1", "M2", "M3"):
            with store.db.session() as s:
                live = views.customer360(s, cid, False, readmodel.TREND_MONTHS, readmodel.RECENT_LIMIT)
                stored = readmodel.read_view(s, hierarchy, cid)
            assert live is not None and stored is not None
            view = cv.customer360_to_pb(live, pb.VIEW_LEVEL_ACCOUNT)
            assert cv.stored_view_to_pb(*stored) == view, cid
            trend = {m.month: (m.total_fee_fen, m.cost_fen, m.margin_fen, m.costed) for m in view.spend_trend}
            if cid == "M1":
                assert trend["2026-10"] == (5_000_000, 3_500_000, 1_500_000, True)
                assert trend["2026-05"] == (5_000_000, 200_000, 4_800_000, True)
                assert trend["2026-07"] == (5_000_000, 0, 0, False)  # not costed: margin unknown, not 100 %
            elif cid == "M2":
                assert not any(costed for *_, costed in trend.values())
            else:
                assert trend["2026-10"] == (1_000_000, 1_500_000, -500_000, True)
    finally:
        store.db.dispose()
