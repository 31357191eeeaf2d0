"""Tag definitions, re-evaluation, history, window expiry, scores, events, segments and erasure."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from services.profile.domain import events as ev
from services.profile.domain.model import Score
from services.profile.store import tagops, views
from services.profile.store.models import AccountTag
from services.profile.store.segments import FeatureSnapshot, query_segment
from services.profile.store.tagdefs import TagDefinitionView, expression_types
from services.profile.tests.builders import NOW, Log
from telco360_expr import check
from telco360_runtime.errors import Aborted, AlreadyExists, InvalidArgument

DAY = dt.timedelta(days=1)


def draft(tag_id: str, expression: str) -> TagDefinitionView:
    return TagDefinitionView(tag_id, 0, tag_id.title(), "test", "", expression, True, False, False, NOW, NOW)


def holders(store, tag_id: str) -> set[str]:
    with store.db.session() as s:
        return set(s.execute(select(AccountTag.customer_id).where(AccountTag.tag_id == tag_id)).scalars())


def history(store, **kw) -> list[dict]:
    with store.db.session() as s:
        return tagops.tag_history(s, kw.get("customer_id", ""), kw.get("tag_id", ""), None, None, 100, None)[0]


def seed(store, log: Log) -> None:
    recs = []
    for i, fee in enumerate([1000, 2000, 3000, 4000, 5000]):
        cid = f"S{i}"
        recs += [log.account(cid, region="North" if i % 2 else "South"), *log.flat_bills(cid, 4, {"voice": fee})]
    store.apply(recs)


def test_definition_change_reevaluates_all_accounts_with_history(store, log: Log) -> None:
    seed(store, log)
    with store.db.write_session() as s:
        tagops.create_definition(s, NOW, draft("big_spender", "fee_total_last_month >= 3000"))
    store.reevaluate({"big_spender"}, ev.CAUSE_DEFINITION_CHANGE)
    assert holders(store, "big_spender") == {"S2", "S3", "S4"}
    with store.db.write_session() as s:
        with pytest.raises(Aborted):
            tagops.update_definition(s, NOW, draft("big_spender", "fee_total_last_month >= 4500"), 5)
    with store.db.write_session() as s:
        view = tagops.update_definition(s, NOW, draft("big_spender", "fee_total_last_month >= 4500"), 1)
    assert view.version == 2
    store.reevaluate({"big_spender"}, ev.CAUSE_DEFINITION_CHANGE)
    assert holders(store, "big_spender") == {"S4"}
    removed = [h for h in history(store, tag_id="big_spender") if not h["assigned"]]
    assert {h["customer_id"] for h in removed} == {"S2", "S3"}
    assert all(h["rule_version"] == 2 and h["cause"] == ev.CAUSE_DEFINITION_CHANGE for h in removed)
    assert removed[0]["trigger_values"]["fee_total_last_month"] in (3000.0, 4000.0)
    with store.db.write_session() as s:
        tagops.delete_definition(s, NOW, "big_spender")
    store.reevaluate({"big_spender"}, ev.CAUSE_DEFINITION_CHANGE)
    assert holders(store, "big_spender") == set()


def test_bad_rules_are_rejected_with_positions(store) -> None:
    with store.db.write_session() as s:
        with pytest.raises(InvalidArgument) as info:
            tagops.create_definition(s, NOW, draft("bad", "fee_total_last_month >= "))
    violation = info.value.violations[0]
    assert violation.field == "definition.expression" and "position 24" in violation.description
    with store.db.write_session() as s:
        with pytest.raises(InvalidArgument) as info:
            tagops.create_definition(s, NOW, draft("Bad Id", "status = 'ACTIVE'"))
    assert info.value.violations[0].field == "definition.tag_id"
    with store.db.write_session() as s:
        with pytest.raises(AlreadyExists):
            tagops.create_definition(s, NOW, draft("fee_drop", "status = 'ACTIVE'"))


def test_dry_run_shows_gains_and_losses(store, log: Log) -> None:
    seed(store, log)
    with store.db.session() as s:
        result = tagops.dry_run(s, draft("vip", "fee_total_last_month >= 4000"), 10)
    assert result["would_hold"] == 2 and "S3" in result["gain_sample"]
    assert result["evaluated"] == 5


def test_account_change_reevaluates_at_once_and_publishes_events(store, log: Log) -> None:
    store.apply([log.account("R1"), *log.bills("R1", {m: {"voice": 1000} for m in ("2026-07", "2026-08", "2026-09")})])
    store.apply(log.bills("R1", {"2026-10": {"voice": 500}}))
    assert "fee_drop" in {h["tag_id"] for h in history(store, customer_id="R1") if h["assigned"]}
    with store.db.session() as s:
        events = views.read_events(s, 0, 1000, [ev.TAG_ASSIGNED], "R1")
    fee_drop = [e for e in events if e.tag_id == "fee_drop"]
    assert fee_drop and fee_drop[0].source_sequence > 0 and fee_drop[0].group_root == "R1"


def test_time_window_expiry_is_scheduled_by_next_expiry(store, log: Log, clock) -> None:
    complaints = [log.rec("service_event", "W1", {"type": 1}, NOW - d * DAY) for d in (80, 40, 10)]
    store.apply([log.account("W1"), *complaints])
    assert "W1" in holders(store, "low_satisfaction")
    first_expiry = store.next_expiry()
    # The oldest complaint leaves the 90-day window 10 days from now: that is the schedule.
    assert first_expiry == NOW - 80 * DAY + 90 * DAY
    clock.now = first_expiry - dt.timedelta(seconds=1)
    assert store.expire_due() == 0
    clock.now = first_expiry + dt.timedelta(seconds=1)
    assert store.expire_due() == 1
    assert "W1" not in holders(store, "low_satisfaction")
    cause = [h for h in history(store, customer_id="W1", tag_id="low_satisfaction") if not h["assigned"]][0]["cause"]
    assert cause == ev.CAUSE_WINDOW_EXPIRY


def test_scores_publish_risk_band_changes_and_feed_tags(store, log: Log) -> None:
    store.apply([log.account("K1")])
    score = Score("K1", 0.9, 3, 100000, 12, "churn:1", NOW, (("fee_total_mom_pct", "fees fell", 0.4),))
    result = store.record_scores([score, dataclasses.replace(score, customer_id="NOPE")])
    assert result["accepted"] == 1 and result["unknown"] == ["NOPE"] and result["changed"] == 1
    assert store.record_scores([score])["ignored"] == 1
    assert "K1" in holders(store, "early_warning")
    with store.db.session() as s:
        band = views.read_events(s, 0, 10, [ev.RISK_BAND_CHANGED], "K1")
    assert band[0].previous_risk_band == 0 and band[0].risk_band == 3


def segment(store, snapshot, expression: str, size: int, token: str = "") -> dict:
    with store.db.session() as s:
        types = expression_types(s)
        checked = check(expression, types, allow_tags=True) if expression else None
        return query_segment(s, snapshot, checked, types, False, size, token, False, ["fee_total_last_month"])


def test_segments_count_and_page_stably(store, log: Log) -> None:
    seed(store, log)
    snapshot = FeatureSnapshot()
    everyone = segment(store, snapshot, "", 100)
    assert everyone["count"] == 5
    result = segment(store, snapshot, "region = 'North' or fee_total_last_month >= 5000", 2)
    assert result["count"] == 3 and [m["customer_id"] for m in result["members"]] == ["S1", "S3"]
    # An account added before the next page does not shift the pages (keyset on customer_id).
    store.apply([log.account("S0a", region="North"), *log.flat_bills("S0a", 4, {"voice": 1})])
    page2 = segment(store, snapshot, "region = 'North' or fee_total_last_month >= 5000", 2, result["next_page_token"])
    assert [m["customer_id"] for m in page2["members"]] == ["S4"] and page2["next_page_token"] == ""
    assert page2["members"][0]["features"]["fee_total_last_month"] == 5000.0
    tagged = segment(store, snapshot, "tag(value_diamond) and region = 'North'", 10)
    assert tagged["count"] == 0 or all(m["customer_id"] in holders(store, "value_diamond") for m in tagged["members"])
    with pytest.raises(InvalidArgument):
        segment(store, snapshot, "region = 'South'", 2, result["next_page_token"])
    # A change to an existing account patches the cached columns in place.
    bill = log.bills("S0", {"2026-10": {"voice": 6000}})[0]
    store.apply([dataclasses.replace(bill, version=2, ingested_at=NOW)])
    assert segment(store, snapshot, "region = 'North' or fee_total_last_month >= 5000", 10)["count"] == 5


def test_erasure_removes_personal_data(store, log: Log) -> None:
    store.apply(
        [
            log.account("X1"),
            log.rec("contact", "X1", {"person_id": "p1", "name": "Wang", "phone": "+861"}, NOW - DAY),
            *log.flat_bills("X1", 3, {"voice": 100}),
        ]
    )
    removed = store.erase("X1", "customer request", purge=False)
    assert removed["contact_records"] == 1 and removed["account_records"] == 1
    with store.db.session() as s:
        assert views.customer360(s, "X1", False, 12, 20) is None
    assert store.erase("X1", "again", purge=False) is None
    assert store.apply([log.account("X1")]).applied == 0  # a tombstone keeps it erased


def test_catch_up_mode_recomputes_each_account_once_after_the_batch(store, log: Log) -> None:
    recs = [
        log.account("C1"),
        *log.bills("C1", {m: {"voice": 1000} for m in ("2026-07", "2026-08", "2026-09")}),
        *log.bills("C1", {"2026-10": {"voice": 100}}),
    ]
    result = store.apply(recs, defer=True)
    assert result.applied == len(recs) and store.applied_sequence() == recs[-1].sequence
    assert "C1" not in holders(store, "fee_drop")
    assert store.refresh_pending() == 1 and store.refresh_pending() == 0
    assert "C1" in holders(store, "fee_drop")
    with store.db.session() as s:
        assigned = views.read_events(s, 0, 100, [ev.TAG_ASSIGNED], "C1")
    assert any(e.tag_id == "fee_drop" and e.source_sequence == recs[-1].sequence for e in assigned)
