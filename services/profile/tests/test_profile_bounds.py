"""Every ProfileService request is bounded before work; answers stay within the page byte limit.

Real in-process profile server on SQLite and PostgreSQL, with accounts applied to its
store directly (no ingest needed). Covers issue #12 for profile: unknown enums answered
INVALID_ARGUMENT / UNKNOWN_ENUM (GetCustomer360 level 999, RecordScores risk_band 999),
RecordScores rows judged one by one (negative values and horizons, non-finite numbers),
text and list bounds, every violation of a request reported at once, a huge stored fee
that must not make features, exports or views answer INTERNAL, and byte-bounded pages.
"""

from __future__ import annotations

import math

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from services.profile.tests.builders import NOW, Log
from services.profile.tests.harness import start_profile
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.timeconv import to_timestamp

ACCOUNTS = 30


@pytest.fixture
async def server(db_url):
    """A profile server (no ingest) whose store holds ACCOUNTS accounts with a year of bills."""
    service, db, channel, stub = await start_profile(db_url, ingest_addr="")
    log, records = Log(), []
    for i in range(ACCOUNTS):
        cid = f"B{i:03d}"
        records += [log.account(cid), *log.flat_bills(cid, 12, {"voice": 1000 + i, "mobile_data": 500})]
    await db.run(service.parts["profile"].store.apply, records)
    yield service, stub, log
    await channel.close()
    await service.stop(0)
    db.dispose()


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """field -> reason of the BadRequest detail."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    out = error_details_pb2.BadRequest()
                    detail.Unpack(out)
                    return {v.field: v.reason for v in out.field_violations}
    raise AssertionError("no BadRequest detail")


async def invalid(call) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        result = call()
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    return violations(info.value)


async def test_unknown_enums_are_rejected(server) -> None:
    _, stub, _ = server
    got = await invalid(lambda: stub.GetCustomer360(pb.GetCustomer360Request(customer_id="B001", level=999)))
    assert got == {"level": bounds.UNKNOWN_ENUM}
    got = await invalid(lambda: stub.WatchAccountEvents(pb.WatchAccountEventsRequest(types=[5, 999])))
    assert got == {"types[1]": bounds.UNKNOWN_ENUM}


async def test_every_violation_of_a_request_is_reported_together(server) -> None:
    _, stub, _ = server
    got = await invalid(
        lambda: stub.GetCustomer360(
            pb.GetCustomer360Request(customer_id="X" * 100_000, level=-3, trend_months=61, recent_limit=-1)
        )
    )
    assert got == {
        "customer_id": bounds.TOO_LONG,
        "level": bounds.UNKNOWN_ENUM,
        "trend_months": bounds.OUT_OF_RANGE,
        "recent_limit": bounds.OUT_OF_RANGE,
    }
    far = Timestamp(seconds=253402300800 + 86400)  # year 10000
    got = await invalid(
        lambda: stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=["B001", ""], as_of=far, feature_names=["x" * 500]))
    )
    assert got == {
        "customer_ids[1]": bounds.REQUIRED,
        "as_of": bounds.OUT_OF_RANGE,
        "feature_names[0]": bounds.TOO_LONG,
    }


async def test_text_and_list_bounds(server) -> None:
    _, stub, _ = server
    long_text = "d" * (bounds.TEXT_MAX + 1)
    got = await invalid(
        lambda: stub.CreateTagDefinition(
            pb.CreateTagDefinitionRequest(
                definition=pb.TagDefinition(
                    tag_id="t",
                    display_name="n" * 201,
                    category="c",
                    description=long_text,
                    expression="fee_total_last_month > " + "1" * bounds.EXPRESSION_MAX,
                )
            )
        )
    )
    assert got == {
        "definition.display_name": bounds.TOO_LONG,
        "definition.description": bounds.TOO_LONG,
        "definition.expression": bounds.TOO_LONG,
    }
    got = await invalid(
        lambda: stub.QuerySegment(
            pb.QuerySegmentRequest(feature_names=["fee_total_last_month"] * (bounds.LIST_MAX + 1))
        )
    )
    assert got == {"feature_names": bounds.TOO_MANY}
    got = await invalid(lambda: stub.EraseCustomer(pb.EraseCustomerRequest(customer_id="B001", reason="r" * 100_000)))
    assert got == {"reason": bounds.TOO_LONG}
    got = await invalid(
        lambda: stub.ExportOutcomes(pb.ExportOutcomesRequest(from_month="2026-01", to_month="2026-10", batch_size=-5))
    )
    assert got == {"batch_size": bounds.OUT_OF_RANGE}
    got = await invalid(
        lambda: stub.DryRunTagDefinition(
            pb.DryRunTagDefinitionRequest(
                definition=pb.TagDefinition(tag_id="t", display_name="T", category="c", expression="true"),
                sample_size=5000,
            )
        )
    )
    assert got == {"sample_size": bounds.OUT_OF_RANGE}
    # The long flat expression under the length limit: a precise answer, not INTERNAL.
    flat = "1+" * 1995 + "1 > 0"
    reply = await stub.ValidateExpression(pb.ValidateExpressionRequest(expression=flat))
    assert not reply.valid
    await invalid(lambda: stub.QuerySegment(pb.QuerySegmentRequest(expression=flat)))


async def test_record_scores_rejects_bad_rows_and_stores_the_rest(server) -> None:
    _, stub, _ = server
    at = to_timestamp(NOW)

    def row(cid: str, **kw) -> pb.AccountScore:
        values = {
            "churn_probability": 0.2,
            "risk_band": common_pb2.RISK_BAND_LOW,
            "predicted_value_fen": 10_000,
            "value_horizon_months": 12,
            "model_version": "churn:1",
            "scored_at": at,
        }
        values.update(kw)
        return pb.AccountScore(customer_id=cid, **values)

    reply = await stub.RecordScores(
        pb.RecordScoresRequest(
            scores=[
                row("B001"),
                row("B002", risk_band=999),
                row("B003", predicted_value_fen=-1),
                row("B004", value_horizon_months=-6),
                row("B005", churn_probability=math.nan),
                row("B006", reasons=[pb.ScoreReason(feature="f", description="d", contribution=math.inf)]),
            ]
        )
    )
    assert reply.accepted == 1
    assert {r.index: {v.field: v.reason for v in r.violations} for r in reply.rejected} == {
        1: {"scores[1].risk_band": bounds.UNKNOWN_ENUM},
        2: {"scores[2].predicted_value_fen": bounds.OUT_OF_RANGE},
        3: {"scores[3].value_horizon_months": bounds.OUT_OF_RANGE},
        4: {"scores[4].churn_probability": bounds.NOT_FINITE},
        5: {"scores[5].reasons[0].contribution": bounds.NOT_FINITE},
    }
    assert [r.customer_id for r in reply.rejected] == ["B002", "B003", "B004", "B005", "B006"]
    good = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="B001"))
    assert good.score.risk_band == common_pb2.RISK_BAND_LOW
    bad = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="B002"))
    assert not bad.HasField("score")  # the 999 band was never stored, so never shown
    got = await invalid(
        lambda: stub.RecordScores(
            pb.RecordScoresRequest(scores=[row(f"B{i % ACCOUNTS:03d}") for i in range(bounds.LIST_MAX + 1)])
        )
    )
    assert got == {"scores": bounds.TOO_MANY}


async def _huge(server) -> list[str]:
    """Store an int64-max fee (ingest bounds fees now; a value stored before must not fail the base)."""
    service, _, log = server
    await service.parts["profile"].db.run(
        service.parts["profile"].store.apply,
        [log.account("HUGE"), *log.bills("HUGE", {"2026-09": {"voice": 2**63 - 1}, "2026-10": {"voice": 1000}})],
    )
    return [f"B{i:03d}" for i in range(ACCOUNTS)] + ["HUGE"]


async def test_one_huge_stored_fee_breaks_no_past_features(server) -> None:
    _, stub, _ = server
    ids = await _huge(server)
    past = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=ids, as_of=to_timestamp(NOW)))
    assert all(v.found for v in past.vectors)
    exported = [b async for b in stub.ExportFeatures(pb.ExportFeaturesRequest(as_of=to_timestamp(NOW)))]
    assert sum(len(b.vectors) for b in exported) == ACCOUNTS + 1


async def test_one_huge_stored_fee_breaks_nothing(server) -> None:
    _, stub, _ = server
    ids = await _huge(server)
    now = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=ids))
    assert all(v.found for v in now.vectors)
    outcomes = [
        b async for b in stub.ExportOutcomes(pb.ExportOutcomesRequest(from_month="2026-01", to_month="2026-10"))
    ]
    huge = next(o for b in outcomes for o in b.outcomes if o.customer_id == "HUGE")
    assert max(m.total_fee_fen for m in huge.months) == 2**63 - 1
    view = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="HUGE", trend_months=24))
    assert view.spend_trend


async def test_pages_and_export_batches_stay_below_the_byte_limit(server, monkeypatch) -> None:
    """With a small byte limit, pages and batches are cut short and resume where they stopped."""
    _, stub, _ = server
    monkeypatch.setattr(bounds, "PAGE_MAX_BYTES", 2500)
    names = ["fee_total_last_month", "fee_total_avg_3m", "fee_total_sum_12m", "tenure_months"]
    seen, token, pages = [], "", 0
    while True:
        page = await stub.QuerySegment(
            pb.QuerySegmentRequest(feature_names=names, page=common_pb2.PageRequest(page_size=1000, page_token=token))
        )
        assert page.ByteSize() <= 2500 and page.members
        seen += [m.customer_id for m in page.members]
        pages += 1
        token = page.page.next_page_token
        if not token:
            break
    assert pages > 1 and seen == sorted(f"B{i:03d}" for i in range(ACCOUNTS))
    batches = [
        b
        async for b in stub.ExportFeatures(
            pb.ExportFeaturesRequest(
                as_of=to_timestamp(NOW), batch_size=5000, feature_names=names + ["status", "region", "industry"]
            )
        )
    ]
    ids = [v.customer_id for b in batches for v in b.vectors]
    assert len(batches) > 1 and ids == sorted(set(ids)) and len(ids) == ACCOUNTS
    assert all(b.ByteSize() <= 2500 for b in batches[1:])  # the first one also carries the schema
    history, token = [], ""
    while True:
        page = await stub.ListTagHistory(
            pb.ListTagHistoryRequest(page=common_pb2.PageRequest(page_size=1000, page_token=token))
        )
        assert page.ByteSize() <= 2500
        history += [c.change_id for c in page.changes]
        token = page.page.next_page_token
        if not token:
            break
    assert history == sorted(set(history), reverse=True)
