"""A month's bills arriving over days, account by account: fee features against each account's own month.

The November bills of a small base arrive between 1 and 18 December in a random order (some
late, some never), applied by the real store as ingest's log would deliver them, with the
scheduler's rounds in between. Whatever the order: no account looks like its fee fell because
of other accounts' bills; an account whose fee really fell is tagged fee_drop once its own
bill is in (or, when the bill lacks a product line, once the period closes); a bill that
never arrives counts as missing (fee 0, fee_drop) only once the period is closed; and
point-in-time features as of each simulated day equal what the live service held that day.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from services.profile.api.converters import render_view
from services.profile.domain.billing import ClosePolicy
from services.profile.store import MIGRATIONS_DIR
from services.profile.store.codec import loads
from services.profile.store.models import Account, AccountTag
from services.profile.tests.builders import LINES, Clock, Log, month_end
from services.profile.usecases.profile import ProfileUseCases
from telco360_runtime.db import Database, migrate

UTC = dt.UTC
IDS = [f"A{i:02d}" for i in range(1, 9)]
USUAL = {"voice": 10_000, "broadband": 5_000}
NOVEMBER = {"same": USUAL, "halved": {"voice": 5_000, "broadband": 5_000}, "dropped_line": {"voice": 10_000}}
POLICY = ClosePolicy(share=0.95, days=10, days_share=0.5)
DAYS = range(1, 21)


def day(d: int) -> dt.datetime:
    """Noon of 1 December + (d - 1) days: the simulated days the November bills arrive on."""
    return dt.datetime(2026, 12, d, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """When each account's November bill arrives (None: never) and what it says."""

    arrival: dict[str, int | None]
    kind: dict[str, str]
    order: list[str]


def open_store(url: str, clock: Clock) -> ProfileUseCases:
    migrate(url, MIGRATIONS_DIR)
    store = ProfileUseCases(
        Database(url, workers=2), clock=clock, base_ttl_seconds=0, render_view=render_view, close_policy=POLICY
    )
    store.install_builtin_tags()
    return store


def history(log: Log, ids: list[str], parents: dict[str, str] | None = None) -> list:
    """Master data and May-October bills of the usual fees, all known since they occurred."""
    records = []
    for cid in ids:
        extra = {"parent_customer_id": parents[cid]} if parents and parents.get(cid) else {}
        records.append(log.account(cid, **extra))
        records += log.flat_bills(cid, 6, USUAL, last="2026-10")
    return records


def november_bill(log: Log, cid: str, fees: dict[str, int], arrived: dt.datetime) -> list:
    """One account's November bill (one record per product line), ingested when it arrived."""
    return [
        log.rec(
            "billing",
            cid,
            {
                "month": "2026-11",
                "product_line": LINES[line],
                "fee_fen": fee,
                "usage_quantity": 1.0,
                "usage_unit": "u",
                "lines": 1,
                "payment_status": 1,
                "days_overdue": 0,
            },
            month_end("2026-11"),
            source="billing",
            srid=f"BILL-{cid}-2026-11-{line}",
            ingested=arrived,
        )
        for line, fee in fees.items()
    ]


def live_state(store: ProfileUseCases) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """Stored features and tags of every account (what Customer360 and segments read)."""
    with store.db.session() as s:
        features = {cid: loads(f) for cid, f in s.execute(select(Account.customer_id, Account.features))}
        tags: dict[str, set[str]] = {cid: set() for cid in features}
        for cid, tag in s.execute(select(AccountTag.customer_id, AccountTag.tag_id)):
            tags[cid].add(tag)
    return features, tags


def fee_part(features: dict) -> dict:
    return {
        k: v
        for k, v in features.items()
        if k.startswith(("fee_", "usage_")) or k in ("months_billed_12m", "product_lines")
    }


def run_month(store: ProfileUseCases, clock: Clock, log: Log, plan: Plan) -> None:
    """Deliver the plan day by day and check every account after every day, then the past views."""
    clock.now = dt.datetime(2026, 11, 15, tzinfo=UTC)
    store.apply(history(log, IDS))
    seen: dict[int, dict[str, dict]] = {}
    for d in DAYS:
        clock.now = day(d)
        for cid in plan.order:  # each account's bill in its own batch, in the drawn order
            if plan.arrival[cid] == d:
                store.apply(november_bill(log, cid, NOVEMBER[plan.kind[cid]], day(d)))
        store.expire_due()  # the scheduler's round: time alone can close the period
        features, tags = live_state(store)
        arrived = {c for c in IDS if plan.arrival[c] is not None and plan.arrival[c] <= d}
        closed = len(arrived) >= POLICY.share * len(IDS) or (
            d > POLICY.days and len(arrived) >= POLICY.days_share * len(IDS)
        )
        assert store.billing_closed_month() == ("2026-11" if closed else "2026-10"), d
        for cid in IDS:
            f, kind, have = features[cid], plan.kind[cid], cid in arrived
            own_month = have and kind != "dropped_line"  # a bill lacking a line waits for the close
            on_november = own_month or closed
            where = (d, cid, kind, have, closed)
            assert f["fee_reference_months_ago"] == (1.0 if on_november else 2.0), where
            assert f["fee_last_month_missing"] is (on_november and not have), where
            if not on_november:
                assert f["fee_total_last_month"] == 15_000 and f["fee_total_vs_ref3_pct"] == 0, where
            elif have:
                assert f["fee_total_last_month"] == sum(NOVEMBER[kind].values()), where
            else:
                assert f["fee_total_last_month"] == 0 and f["fee_total_vs_ref3_pct"] == -100, where
            fell = on_november and (not have or kind != "same")
            assert ("fee_drop" in tags[cid]) is fell, where
        seen[d] = features
    # Training views as of each day: the same semantics with what was known then, no later bill.
    for d in DAYS:
        past, _ = store.features(IDS, day(d))
        for result in past:
            assert fee_part(result.features) == fee_part(seen[d][result.customer_id]), (d, result.customer_id)


plans = st.builds(
    lambda arrival, kind, order: Plan(dict(zip(IDS, arrival, strict=False)), dict(zip(IDS, kind, strict=False)), order),
    st.lists(st.one_of(st.none(), st.integers(1, 18)), min_size=len(IDS), max_size=len(IDS)),
    st.lists(st.sampled_from(sorted(NOVEMBER)), min_size=len(IDS), max_size=len(IDS)),
    st.permutations(IDS),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans)
def test_bills_arriving_over_days_in_any_order(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        store = open_store(f"sqlite:///{tmp}/profile.db", clock)
        try:
            run_month(store, clock, Log(), plan)
        finally:
            store.db.dispose()


def test_bills_over_days_on_each_database(db_url: str) -> None:
    """One fixed plan on SQLite and PostgreSQL: early, late, never, a halved fee and a dropped line."""
    arrival = {"A01": 1, "A02": 2, "A03": 2, "A04": 5, "A05": 9, "A06": 14, "A07": None, "A08": 17}
    kind = {
        "A01": "same",
        "A02": "halved",
        "A03": "dropped_line",
        "A04": "same",
        "A05": "same",
        "A06": "halved",
        "A07": "same",
        "A08": "same",
    }
    clock = Clock()
    store = open_store(db_url, clock)
    try:
        run_month(store, clock, Log(), Plan(arrival, kind, list(IDS)))
    finally:
        store.db.dispose()


def test_close_policy_rules() -> None:
    """Share, deadline, a stalled feed and declared closes, as documented in the README."""
    oct_, nov = 2026 * 12 + 9, 2026 * 12 + 10
    early, late = day(3), day(12)
    assert POLICY.latest_closed(early, {oct_: 100, nov: 94}) == oct_
    assert POLICY.latest_closed(early, {oct_: 100, nov: 95}) == nov
    assert POLICY.latest_closed(late, {oct_: 100, nov: 50}) == nov  # past the deadline with half the base
    assert POLICY.latest_closed(late, {oct_: 100, nov: 49}) == oct_
    assert POLICY.latest_closed(day(28), {oct_: 100}) == oct_  # no November bill at all: never closes by itself
    assert POLICY.latest_closed(early, {oct_: 100, nov: 1}, declared=[nov]) == nov
    assert POLICY.latest_closed(early, {oct_: 100}, declared=[nov + 1]) == oct_  # the current month cannot be


def test_a_past_view_sees_no_later_close(sqlite_store: ProfileUseCases, clock: Clock, log: Log) -> None:
    """Declared on 5 December: a view as of the 3rd still treats the missing bills as pending."""
    clock.now = dt.datetime(2026, 11, 15, tzinfo=UTC)
    sqlite_store.apply(history(log, ["B1", "B2"]))
    clock.now = day(2)
    sqlite_store.apply(november_bill(log, "B1", USUAL, day(2)))
    clock.now = day(5)
    assert sqlite_store.close_billing_period("2026-11", "test") == 1
    now = {r.customer_id: r.features for r in sqlite_store.features(["B1", "B2"], None)[0]}
    before = {r.customer_id: r.features for r in sqlite_store.features(["B1", "B2"], day(3))[0]}
    assert now["B2"]["fee_last_month_missing"] and now["B2"]["fee_total_last_month"] == 0
    assert not before["B2"]["fee_last_month_missing"] and before["B2"]["fee_total_last_month"] == 15_000
    assert before["B1"]["fee_reference_months_ago"] == now["B1"]["fee_reference_months_ago"] == 1
