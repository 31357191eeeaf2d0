"""Generated costs through real ingest and profile servers: margin features equal the generator's truth."""

from __future__ import annotations

import grpc
import pytest

from services.profile.domain.billing import month_index, month_str
from services.profile.tests.harness import start_ingest, start_profile, wait_applied
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2 as pb
from telco360_datagen import GeneratedBase, generate
from telco360_runtime.testing import wait_until

ACCEPTED = (ingest_pb2.RECORD_STATUS_ACCEPTED, ingest_pb2.RECORD_STATUS_CORRECTED)


@pytest.fixture
async def ingest(tmp_path):
    service, db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}")
    yield service
    await service.stop(0)
    db.dispose()


async def test_margin_features_match_the_generated_costs(db_url, ingest) -> None:
    base: GeneratedBase = generate(15, 6, seed=5, cost_records=True)
    records = list(base.records())
    async with grpc.aio.insecure_channel(ingest.address) as channel:
        results = [r async for r in ingest_pb2_grpc.IngestServiceStub(channel).IngestRecords(iter(records))]
    assert all(r.status in ACCEPTED for r in results)  # cost records pass ingest's validation
    service, db, channel, stub = await start_profile(
        db_url, ingest_addr=ingest.address, contact_addr="127.0.0.1:1", scoring_addr="127.0.0.1:1"
    )
    try:
        await wait_applied(stub, len(results))

        # Applied is not yet settled: a catch-up queues its accounts' recompute (and views).
        async def settled() -> bool:
            return not (await stub.GetSyncStatus(pb.GetSyncStatusRequest())).settling

        await wait_until(settled, timeout=60, message="profile still settling")
        ids = sorted(base.truth.accounts)
        reply = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=ids))
        truth = base.truth
        checked = 0
        for cid, vector in zip(ids, reply.vectors, strict=True):
            features = {k: v.number_value for k, v in vector.features.items() if v.WhichOneof("kind") == "number_value"}
            if "fee_reference_months_ago" not in features:
                continue
            as_of_month = month_index(reply.as_of.ToDatetime().strftime("%Y-%m"))
            ref = as_of_month - int(features["fee_reference_months_ago"])
            window = [month_str(ref - k) for k in range(3) if month_str(ref - k) in truth.months]
            costed = [m for m in window if truth.monthly_cost(cid, m) > 0]
            if not costed:
                assert "margin_3m_fen" not in features
                continue
            fee = sum(truth.monthly_total(cid, m) for m in costed)
            cost = sum(truth.monthly_cost(cid, m) for m in costed)
            assert features["cost_3m_fen"] == cost, cid
            assert features["margin_3m_fen"] == fee - cost, cid
            if fee > 0:
                assert features["margin_rate_3m"] == pytest.approx((fee - cost) / fee, abs=1e-9), cid
            checked += 1
        assert checked >= 10
        tagged = {
            t.tag_id
            for a in ids
            for t in (await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=a))).tags
            if t.tag_id.startswith("profitability_")
        }
        assert tagged  # the profitability tiers are assigned from generated costs
        # Label facts for scoring's margin target: fee and cost of every month, costed or not.
        request = pb.ExportOutcomesRequest(from_month=truth.months[0], to_month=truth.months[-1])
        exported = {
            (o.customer_id, m.month): (m.total_fee_fen, m.total_cost_fen, m.costed)
            async for batch in stub.ExportOutcomes(request)
            for o in batch.outcomes
            for m in o.months
        }
        expected = {
            (cid, month): (truth.monthly_total(cid, month), truth.monthly_cost(cid, month), True)
            for cid in ids
            for month in truth.months
            if truth.monthly_cost(cid, month) > 0
        }
        assert {k: v for k, v in exported.items() if v[2]} == expected
        assert all(cost == 0 for _, cost, costed in exported.values() if not costed)
    finally:
        await channel.close()
        await service.stop(0)
        db.dispose()
