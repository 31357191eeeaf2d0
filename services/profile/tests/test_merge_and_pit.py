"""Merge precedence, corrections, idempotent apply and point-in-time correctness (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from services.profile.store.models import AccountHistory
from services.profile.tests.builders import NOW, Log

DAY = dt.timedelta(days=1)


def master(store, cid: str) -> dict:
    from services.profile.store import views

    with store.db.session() as s:
        return views.customer360(s, cid, False, 12, 20)["master"]


def test_field_precedence_by_source_then_latest(store, log: Log) -> None:
    t0 = NOW - 100 * DAY
    store.apply(
        [
            log.rec(
                "account", "A1", {"name": "CRM name", "industry": "GOV", "region": "R1"}, t0, source="crm", srid="crm-1"
            ),
            log.rec(
                "account",
                "A1",
                {"name": "Field name", "region": "R2", "employee_count": 50},
                t0 + 10 * DAY,
                source="field",
                srid="field-1",
            ),
            log.rec("account", "A1", {"region": "R3"}, t0 + 20 * DAY, source="crm", srid="crm-2"),
        ]
    )
    data = master(store, "A1")
    # crm outranks field for name even though field is later; field fills what crm never set.
    assert data["fields"]["name"] == "CRM name"
    assert data["fields"]["employee_count"] == 50
    assert data["field_sources"]["employee_count"] == "field"
    # Same source: the latest record wins.
    assert data["fields"]["region"] == "R3"


def test_correction_replaces_earlier_version_and_history_is_kept(store, log: Log) -> None:
    t0 = NOW - 50 * DAY
    store.apply([log.rec("account", "A2", {"name": "Old", "industry": "EDU", "region": "R"}, t0, srid="k")])
    store.apply(
        [
            log.rec(
                "account",
                "A2",
                {"name": "New", "industry": "HEALTH", "region": "R"},
                t0,
                srid="k",
                version=2,
                ingested=t0 + DAY,
            )
        ]
    )
    data = master(store, "A2")
    assert (data["fields"]["name"], data["fields"]["industry"]) == ("New", "HEALTH")
    with store.db.session() as s:
        changes = {
            (h.field, h.new_value)
            for h in s.execute(select(AccountHistory).where(AccountHistory.customer_id == "A2")).scalars()
        }
    assert ("industry", '"EDU"') in changes and ("industry", '"HEALTH"') in changes


def test_apply_is_idempotent_and_ignores_stale_versions(store, log: Log) -> None:
    records = log.flat_bills("A3", 4, {"voice": 1000}) + [log.account("A3")]
    first = store.apply(records)
    assert first.applied == len(records)
    again = store.apply(records)  # redelivered after a reconnect
    assert again.applied == 0 and again.skipped == len(records)
    stale = dataclasses.replace(records[0], sequence=records[-1].sequence + 1)  # same version, new sequence
    assert store.apply([stale]).applied == 0
    features, _ = store.features(["A3"], None)
    assert features[0].features["fee_total_last_month"] == 1000


def test_point_in_time_sees_nothing_from_after_as_of(store, log: Log) -> None:
    as_of = dt.datetime(2026, 8, 15, tzinfo=dt.UTC)
    recs = [log.account("P1")]
    recs += log.bills("P1", {"2026-05": {"voice": 1000}, "2026-06": {"voice": 1000}, "2026-07": {"voice": 1000}})
    # A complaint that occurred before as_of but was only ingested after it: invisible at as_of.
    recs.append(log.rec("service_event", "P1", {"type": 1}, as_of - 5 * DAY, ingested=as_of + DAY, srid="late"))
    # A complaint that occurred after as_of: invisible.
    recs.append(log.rec("service_event", "P1", {"type": 1}, as_of + DAY, srid="future"))
    # One that was known in time: visible.
    recs.append(log.rec("service_event", "P1", {"type": 1}, as_of - 10 * DAY, srid="known"))
    # The July bill was corrected after as_of: as_of still sees the original 1000.
    recs.append(
        dataclasses.replace(log.bills("P1", {"2026-07": {"voice": 400}})[0], version=2, ingested_at=as_of + 2 * DAY)
    )
    # August and later bills occurred after as_of.
    recs += log.bills("P1", {"2026-08": {"voice": 5000}, "2026-09": {"voice": 5000}})
    recs.sort(key=lambda r: r.sequence)
    store.apply(recs)
    past = store.features(["P1"], as_of)[0][0].features
    assert past["complaints_30d"] == 1.0
    assert past["fee_total_last_month"] == 1000.0
    assert past["fee_voice_mom_pct"] == 0.0
    now = store.features(["P1"], None)[0][0].features
    assert now["fee_total_last_month"] == 5000.0
    # After the correction was ingested, as_of-later views see the corrected July.
    later = store.features(["P1"], as_of + 3 * DAY)[0][0].features
    assert later["fee_total_last_month"] == 400.0 and later["complaints_30d"] == 3.0


def test_correction_ingested_before_as_of_is_used(store, log: Log) -> None:
    as_of = dt.datetime(2026, 8, 20, tzinfo=dt.UTC)
    bill = log.bills("P2", {"2026-07": {"cloud": 900}})[0]
    corrected = dataclasses.replace(
        bill,
        sequence=bill.sequence + 100,
        version=2,
        payload={**bill.payload, "fee_fen": 700},
        ingested_at=dt.datetime(2026, 8, 10, tzinfo=dt.UTC),
    )
    store.apply([bill, corrected])
    assert store.features(["P2"], as_of)[0][0].features["fee_cloud_last_month"] == 700.0
    before = dt.datetime(2026, 8, 5, tzinfo=dt.UTC)
    assert store.features(["P2"], before)[0][0].features["fee_cloud_last_month"] == 900.0


def test_unknown_accounts_are_not_found_at_as_of(store, log: Log) -> None:
    store.apply([log.account("P3", occurred=NOW - 10 * DAY)])
    results, found = store.features(["P3", "NOPE"], NOW - 20 * DAY)
    assert found == set() and results == []
    results, found = store.features(["P3", "NOPE"], None)
    assert found == {"P3"}


def test_bulk_loaded_history_is_known_from_occurrence_but_corrections_from_ingestion() -> None:
    """History loaded today is visible in past views; a correction loaded today is not."""
    from google.protobuf.timestamp_pb2 import Timestamp

    from services.profile.peers.ingest import log_entry_to_record
    from telco360.ingest.v1 import ingest_pb2

    occurred, loaded = dt.datetime(2025, 3, 31, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def entry(version: int) -> ingest_pb2.LogEntry:
        record = ingest_pb2.Record(
            source="billing",
            source_record_id="b1",
            customer_id="P1",
            billing=ingest_pb2.MonthlyBilling(month="2025-03", product_line=1, fee_fen=100),
        )
        record.occurred_at.CopyFrom(Timestamp(seconds=int(occurred.timestamp())))
        return ingest_pb2.LogEntry(
            sequence=version, record=record, version=version, ingested_at=Timestamp(seconds=int(loaded.timestamp()))
        )

    assert log_entry_to_record(entry(1)).ingested_at == occurred
    assert log_entry_to_record(entry(2)).ingested_at == loaded
    strict = log_entry_to_record(entry(1), first_versions_known_when_occurred=False)
    assert strict.ingested_at == loaded
