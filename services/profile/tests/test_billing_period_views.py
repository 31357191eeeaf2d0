"""Billing periods over real gRPC: Customer360 names the months, group summaries add up each
member's own complete month, and an operator can close a period (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest

from services.profile.app import build_service
from services.profile.settings import ProfileSettings
from services.profile.store import MIGRATIONS_DIR
from services.profile.tests.builders import Clock, Log
from services.profile.tests.test_billing_period import history, november_bill
from services.profile.tests.test_service import bad_request
from telco360.profile.v1 import profile_pb2 as pb
from telco360.profile.v1 import profile_pb2_grpc
from telco360_runtime.db import Database, migrate

UTC = dt.UTC
GROUP = {"G": "", "G1": "G", "G2": "G"}  # a group: root G with branches G1 and G2


@pytest.fixture
async def service(db_url):
    """Profile on port 0 with a settable clock and no ingest (records applied by the test)."""
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=2)
    clock = Clock(dt.datetime(2026, 11, 15, tzinfo=UTC))
    svc = build_service(
        ProfileSettings(
            port=0,
            host="127.0.0.1",
            database_url=db_url,
            ingest_addr="",
            expiry_poll_seconds=3600,
            share_check_seconds=3600,
        ),
        db,
        clock=clock,
    )
    await svc.start()
    channel = grpc.aio.insecure_channel(svc.address)
    yield svc.parts["profile"].store, clock, profile_pb2_grpc.ProfileServiceStub(channel)
    await channel.close()
    await svc.stop(0)
    db.dispose()


async def views_of(stub, cid: str) -> tuple[pb.Customer360, pb.Customer360]:
    """The account-level view (served from the read model) and the group-level one (assembled live)."""
    account = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=cid))
    group = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=cid, level=pb.VIEW_LEVEL_GROUP))
    return account, group


async def test_group_summary_adds_up_each_members_own_complete_month(service) -> None:
    store, clock, stub = service
    log = Log()
    await asyncio.to_thread(store.apply, history(log, list(GROUP), GROUP))
    # 3 December: only G1's November bill has arrived, larger and with a cloud line.
    clock.now = dt.datetime(2026, 12, 3, 12, tzinfo=UTC)
    await asyncio.to_thread(
        store.apply, november_bill(log, "G1", {"voice": 10_000, "broadband": 5_000, "cloud": 7_000}, clock.now)
    )
    usual, g1_november = 15_000, 22_000
    for cid in GROUP:
        for view in await views_of(stub, cid):
            assert view.billing_closed_month == "2026-10"
            # G1's month is November; G and G2 still describe October (their bills may come any day).
            assert view.group.total_fee_last_month_fen == g1_november + 2 * usual, (cid, view.level)
            assert sorted(view.group.product_lines) == [1, 3, 5]
    g1, _ = await views_of(stub, "G1")
    g2, _ = await views_of(stub, "G2")
    assert g1.fee_reference_month == "2026-11" and g2.fee_reference_month == "2026-10"
    assert not g2.features["fee_last_month_missing"].bool_value
    assert "fee_drop" not in {t.tag_id for t in g2.tags}

    # The billing team declares November closed: G's and G2's missing bills now count as 0.
    closed = await stub.CloseBillingPeriod(pb.CloseBillingPeriodRequest(month="2026-11", note="bill runs done"))
    assert closed.billing_closed_month == "2026-11" and closed.accounts_recomputed == 2
    for cid in GROUP:
        for view in await views_of(stub, cid):
            assert view.billing_closed_month == "2026-11"
            assert view.group.total_fee_last_month_fen == g1_november, (cid, view.level)
            assert sorted(view.group.product_lines) == [1, 3, 5]
    g2, _ = await views_of(stub, "G2")
    assert g2.fee_reference_month == "2026-11" and g2.features["fee_last_month_missing"].bool_value
    assert g2.features["fee_total_last_month"].number_value == 0
    assert "fee_drop" in {t.tag_id for t in g2.tags}
    again = await stub.CloseBillingPeriod(pb.CloseBillingPeriodRequest(month="2026-11"))
    assert again.accounts_recomputed == 0


@pytest.mark.parametrize(
    "month, reason",
    [
        ("", "REQUIRED"),
        ("2026/11", "BAD_FORMAT"),
        ("2026-13", "BAD_FORMAT"),
        ("2026-12", "OUT_OF_RANGE"),
        ("2027-01", "OUT_OF_RANGE"),
    ],
)
async def test_close_billing_period_rejects_bad_months(service, month: str, reason: str) -> None:
    _, clock, stub = service
    clock.now = dt.datetime(2026, 12, 3, tzinfo=UTC)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CloseBillingPeriod(pb.CloseBillingPeriodRequest(month=month))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.reason) for v in bad_request(info.value).field_violations] == [("month", reason)]
