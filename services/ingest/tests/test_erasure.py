"""Erasure and retention in ingest (issue #15), on real servers and real databases.

After ApplyErasure no table of the ingest store holds the account's names, phones, e-mails
or notes (a scan of every column of every table), its log entries keep their sequence,
kind and facts and read back `erased`, its quarantine entries are gone, and no later record
(SubmitRecord, IngestRecords, IngestRecordBatches, ReplayQuarantine) stores a personal
value of it again until LiftErasure. Retention blanks old payloads and deletes old
quarantine entries, with a fixed clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.api.converters import dict_to_record, mask_record
from services.ingest.app import build_service
from services.ingest.domain.erasure import PERSONAL_FIELDS, blank_record
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from services.ingest.tests.samples import PAYLOADS, VALID_CREDIT_CODE, raw
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_imports.values import KINDS
from telco360_runtime import reasons
from telco360_runtime.db import Database
from telco360_runtime.status import rich_status
from telco360_runtime.testing import wait_until

TOKENS = {"tok-svc": "service:profile", "tok-admin": "admin:steward-1", "tok-analyst": "analyst:an-1"}
SVC = (("authorization", "Bearer tok-svc"),)
ADMIN = (("authorization", "Bearer tok-admin"),)
REJECTED = ingest_pb2.RECORD_STATUS_REJECTED
_phones = itertools.count(10_000_000)


@dataclass
class Ingest:
    stub: ingest_pb2_grpc.IngestServiceStub
    audit: audit_pb2_grpc.AuditServiceStub
    parts: dict[str, Any]
    url: str


async def _serve(db_url: str, **overrides: Any) -> AsyncIterator[Ingest]:
    migrate_store(db_url)
    db = Database(db_url, workers=4)
    settings_ = IngestSettings(
        port=0, host="127.0.0.1", database_url=db_url, auth_tokens=TOKENS, log_poll_seconds=0.2, **overrides
    )
    service = build_service(settings_, db)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            yield Ingest(
                ingest_pb2_grpc.IngestServiceStub(channel),
                audit_pb2_grpc.AuditServiceStub(channel),
                service.parts,
                db_url,
            )
    finally:
        await service.stop(0)
        db.dispose()


@pytest.fixture
async def ingest(db_url: str) -> AsyncIterator[Ingest]:
    async for running in _serve(db_url):
        yield running


@pytest.fixture
async def retaining(db_url: str) -> AsyncIterator[Ingest]:
    # retention_interval_seconds=0: the round runs only when the test calls it (fixed clock).
    async for running in _serve(
        db_url, quarantine_retention_days=30, log_payload_retention_days=7, retention_interval_seconds=0
    ):
        yield running


# --- records with personal values ---------------------------------------------------------


def personal_records(customer_id: str, tag: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One valid record of every kind for `customer_id`, with personal values unique to `tag`,
    and those values (as the store would hold them once normalised)."""
    phone = f"+86139{next(_phones):08d}"
    values = {
        "account": {
            "name": f"Org {tag} Ltd",
            "credit_code": VALID_CREDIT_CODE,
            "attributes": {
                "segment": {"string_value": f"seg {tag}"},
                "campus_count": {"number_value": 3.0},
            },
        },
        "contact": {
            "name": f"Person {tag}",
            "phone": phone,
            "email": f"{tag.lower()}@example.com",
            "role": f"Director {tag}",
            "preferred_hours": "09:00-11:00",
        },
        "service_event": {"summary": f"summary {tag}"},
        "interaction": {"notes": f"notes {tag}"},
        "opportunity": {"need": f"need {tag}"},
        "lifecycle": {"detail": f"detail {tag}"},
        "cost": {"note": f"allocated by {tag}"},
    }
    records = [raw(kind, f"{tag}-{kind}", customer_id=customer_id, **values.get(kind, {})) for kind in KINDS]
    secrets = [
        f"Org {tag} Ltd",
        f"seg {tag}",
        f"Person {tag}",
        phone[3:],
        f"{tag.lower()}@example.com",
        f"Director {tag}",
        f"summary {tag}",
        f"notes {tag}",
        f"need {tag}",
        f"detail {tag}",
        f"allocated by {tag}",
    ]
    return records, secrets


def scan(url: str, values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every cell of every table that holds one of `values`."""
    engine = sa.create_engine(url)
    found: list[tuple[str, str, str]] = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings()
                for row in rows:
                    for column, cell in row.items():
                        text = str(cell)
                        found.extend((table, column, v) for v in values if v and v in text)
    finally:
        engine.dispose()
    return found


async def erase(ingest: Ingest, customer_id: str, erasure_id: str = "E-1") -> common_pb2.ApplyErasureResponse:
    request = common_pb2.ApplyErasureRequest(erasure_id=erasure_id, customer_id=customer_id)
    return await ingest.stub.ApplyErasure(request, metadata=SVC)


async def stream(ingest: Ingest, records: list[dict[str, Any]]) -> list[ingest_pb2.RecordResult]:
    messages = [dict_to_record(r) for r in records]
    return [r async for r in ingest.stub.IngestRecords(iter(messages), metadata=SVC)]


async def log(ingest: Ingest) -> list[ingest_pb2.LogEntry]:
    return [e async for e in ingest.stub.ReadLog(ingest_pb2.ReadLogRequest(), metadata=SVC)]


def refused(result: ingest_pb2.RecordResult) -> bool:
    return (
        result.status == REJECTED
        and not result.quarantine_id
        and [(v.field, v.reason) for v in result.violations] == [("customer_id", reasons.NOT_ALLOWED)]
    )


def error_reason(error: grpc.aio.AioRpcError) -> str:
    status = rich_status(error.trailing_metadata())
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


# --- the rules --------------------------------------------------------------------------------


def test_blanking_drops_every_field_the_masking_hides_and_keeps_the_facts() -> None:
    for kind in KINDS:
        record = raw(kind, customer_id="C-1")
        blanked = blank_record(record)
        kept = {k: v for k, v in record[kind].items() if k not in PERSONAL_FIELDS.get(kind, ())}
        if kind == "account":
            kept["attributes"] = {"campus_count": {"number_value": 4.0}, "state_owned": {"bool_value": True}}
        assert blanked == {**record, kind: kept}
        # Outside a call there is no role: the masking hides every personal field it knows.
        masked = dict_to_record(record)
        mask_record(masked)
        whole = getattr(dict_to_record(record), kind)
        for field, value in getattr(masked, kind).ListFields():
            if field.name == "attributes":  # texts are masked (the others left out: no masked number)
                texts = [k for k in whole.attributes if whole.attributes[k].WhichOneof("kind") == "string_value"]
                hidden = [k for k in texts if whole.attributes[k] != value.get(k)]
                assert hidden
                assert not set(hidden) & set(blanked[kind].get("attributes", {}))
            elif getattr(whole, field.name) != value:
                assert field.name not in blanked[kind], (kind, field.name)
    assert set(PERSONAL_FIELDS) <= set(PAYLOADS)


# --- ApplyErasure -----------------------------------------------------------------------------


async def test_erasure_blanks_the_log_deletes_the_quarantine_and_repeats_its_answer(ingest: Ingest) -> None:
    gone, gone_values = personal_records("C-GONE", "Gone1")
    kept, kept_values = personal_records("C-KEPT", "Kept1")
    kept = [{**r, "account": {**r["account"], "credit_code": ""}} if "account" in r else r for r in kept]
    corrected = raw(
        "contact", "Gone1-contact", customer_id="C-GONE", name="Person Gone1 Second", phone="+8613911110000"
    )
    bad = raw("contact", "Gone1-bad", customer_id=" C-GONE ", name="Person Gone1 Bad", email="not-an-email")
    results = await stream(
        ingest, [*gone, *kept, corrected, bad, raw("contact", "Kept1-bad", customer_id="C-KEPT", email="x")]
    )
    assert [r.status for r in results].count(REJECTED) == 2
    gone_values += ["Person Gone1 Second", "13911110000", "Person Gone1 Bad", VALID_CREDIT_CODE]
    before = await log(ingest)
    assert len(scan(ingest.url, gone_values)) > 0

    answer = await erase(ingest, "C-GONE")
    assert answer.customer_id == "C-GONE"
    personal_kinds = len(PERSONAL_FIELDS)
    assert dict(answer.removed) == {
        "log_payloads": personal_kinds + 1,  # one per kind with personal fields, and the correction
        "log_entries": len(KINDS) + 1,
        "record_hashes": len(KINDS),
        "quarantine_entries": 1,
    }
    assert scan(ingest.url, gone_values) == []
    assert {v for _, _, v in scan(ingest.url, kept_values)} == set(kept_values)

    after = await log(ingest)
    assert [e.sequence for e in after] == [e.sequence for e in before]
    for old, new in zip(before, after, strict=True):
        assert new.version == old.version and new.ingested_at == old.ingested_at
        assert new.record.WhichOneof("payload") == old.record.WhichOneof("payload")
        assert new.erased == (old.record.customer_id == "C-GONE")
        if old.record.customer_id != "C-GONE":
            assert new == old
    billing = next(e for e in after if e.record.customer_id == "C-GONE" and e.record.HasField("billing"))
    assert billing.record.billing.fee_fen == PAYLOADS["billing"]["fee_fen"]
    contact = next(e for e in after if e.record.customer_id == "C-GONE" and e.record.HasField("contact"))
    assert contact.record.contact.person_id == "P-1" and not contact.record.contact.name
    batches = [b async for b in ingest.stub.ReadLogBatches(ingest_pb2.ReadLogRequest(), metadata=SVC)]
    assert [e for b in batches for e in b.entries] == after
    listing = await ingest.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest(include_resolved=True), metadata=SVC)
    assert [e.record.customer_id for e in listing.entries] == ["C-KEPT"]

    # A repeat (profile's retry, another erasure id) answers the stored result, changes nothing.
    again = await erase(ingest, "C-GONE", "E-2")
    assert again == answer
    assert await log(ingest) == after
    # An account ingest never saw is erased too (its later records are refused).
    assert dict((await erase(ingest, "C-NEVER")).removed) == dict.fromkeys(answer.removed, 0)

    trail = (await ingest.audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=ADMIN)).entries
    erasures = [e for e in trail if e.action == "customer.erase"]  # newest first
    assert [(list(e.account_ids), e.role, e.outcome) for e in erasures] == [
        (["C-NEVER"], "service", "OK"),
        (["C-GONE"], "service", "OK"),
        (["C-GONE"], "service", "OK"),
    ]
    assert "repeated=True" in erasures[1].detail
    assert "repeated=False" in erasures[2].detail and f"log_payloads={personal_kinds + 1}" in erasures[2].detail
    assert scan(ingest.url, gone_values) == []


async def test_erasure_requests_are_checked_and_for_services_only(ingest: Ingest) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await ingest.stub.ApplyErasure(common_pb2.ApplyErasureRequest(erasure_id="E-1"), metadata=SVC)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await ingest.stub.LiftErasure(common_pb2.LiftErasureRequest(customer_id="C-1"), metadata=SVC)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as error:
        request = common_pb2.ApplyErasureRequest(erasure_id="E-1", customer_id="C-1")
        await ingest.stub.ApplyErasure(request, metadata=(("authorization", "Bearer tok-analyst"),))
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


# --- never resurrected --------------------------------------------------------------------------


async def test_later_records_of_an_erased_account_are_refused_on_every_path_until_lifted(ingest: Ingest) -> None:
    other, _ = personal_records("C-OTHER", "Other2")
    await stream(ingest, other)
    quarantined = await stream(ingest, [raw("contact", "Other2-bad", customer_id="C-OTHER", email="x")])
    await erase(ingest, "C-GONE")
    records, values = personal_records("C-GONE", "Gone2")

    # SubmitRecord: FAILED_PRECONDITION, reason NOT_ALLOWED; nothing stored.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await ingest.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=dict_to_record(records[1])), metadata=SVC)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error.value) == reasons.NOT_ALLOWED and "erased" in (error.value.details() or "")

    # IngestRecords: a mixed stream keeps going; valid and invalid records of the account refused.
    good = raw("billing", "Other2-b2", customer_id="C-OTHER", month="2024-06")
    invalid = raw("contact", "Gone2-bad", customer_id="C-GONE ", email="bad", name="Person Gone2 Bad")
    results = await stream(ingest, [records[0], good, invalid, records[3]])
    assert [refused(r) for r in results] == [True, False, True, True]
    assert results[1].status == ingest_pb2.RECORD_STATUS_ACCEPTED and results[1].index == 1

    # IngestRecordBatches.
    batch = ingest_pb2.RecordBatch(records=[dict_to_record(r) for r in records])
    answers = [a async for a in ingest.stub.IngestRecordBatches(iter([batch]), metadata=SVC)]
    assert all(refused(r) for r in answers[0].results) and len(answers[0].results) == len(KINDS)

    # ReplayQuarantine: a correction moving an entry onto the erased account is refused.
    correction = raw("contact", "Other2-bad", customer_id="C-GONE", name="Person Gone2 Replayed")
    replay = ingest_pb2.ReplayQuarantineRequest(
        corrections=[
            ingest_pb2.QuarantineCorrection(
                quarantine_id=quarantined[0].quarantine_id, record=dict_to_record(correction)
            )
        ]
    )
    done = await ingest.stub.ReplayQuarantine(replay, metadata=SVC)
    assert (done.moved, done.still_rejected) == (0, 1) and refused(done.results[0])
    values += ["Person Gone2 Bad", "Person Gone2 Replayed"]
    assert scan(ingest.url, values) == []
    assert not [e for e in await log(ingest) if e.record.customer_id == "C-GONE"]

    # LiftErasure (the admin's reactivation, sent by profile): records are accepted again.
    lift = common_pb2.LiftErasureRequest(customer_id="C-GONE", reason="new contract C-2027-0113")
    assert (await ingest.stub.LiftErasure(lift, metadata=SVC)).lifted
    assert not (await ingest.stub.LiftErasure(lift, metadata=SVC)).lifted
    accepted = await stream(ingest, records)
    assert {r.status for r in accepted} == {ingest_pb2.RECORD_STATUS_ACCEPTED}
    trail = (await ingest.audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=ADMIN)).entries
    lifts = [(e.action, list(e.account_ids), e.detail) for e in trail if e.action == "customer.reactivate"]
    assert lifts == [
        ("customer.reactivate", ["C-GONE"], "lifted=False"),
        ("customer.reactivate", ["C-GONE"], "lifted=True"),
    ]
    assert "C-2027-0113" not in " ".join(str(e) for e in trail)


async def test_a_reactivated_account_gets_its_old_records_back_only_when_re_sent(ingest: Ingest) -> None:
    records, values = personal_records("C-BACK", "Back3")
    await stream(ingest, records)
    await erase(ingest, "C-BACK")
    lift = common_pb2.LiftErasureRequest(customer_id="C-BACK", reason="new contract")
    await ingest.stub.LiftErasure(lift, metadata=SVC)
    assert scan(ingest.url, values) == []
    # The stored digests are those of the blanked payloads: a re-sent record is a correction.
    again = await stream(ingest, records)
    statuses = {r.source_record_id.split("-", 1)[1]: r.status for r in again}
    assert statuses == {
        kind: ingest_pb2.RECORD_STATUS_CORRECTED if kind in PERSONAL_FIELDS else ingest_pb2.RECORD_STATUS_DUPLICATE
        for kind in KINDS
    }
    # No entry reads erased any more (old ones stay blanked): a profile rebuilt from the log
    # keeps the reactivated account instead of erasing it again at its old entries.
    entries = [e for e in await log(ingest) if e.record.customer_id == "C-BACK"]
    assert len(entries) > len(KINDS) and not any(e.erased for e in entries)


_texts = st.text(alphabet="abcdefghijkmnopqrstuvwxyz王李张刘陈", min_size=4, max_size=12)
_runs = itertools.count()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_no_path_stores_a_personal_value_of_an_erased_account(ingest: Ingest, data: st.DataObject) -> None:
    run = next(_runs)
    customer = f"C-H{run}"
    seed, seed_values = personal_records(customer, f"Seed{run}x")
    await stream(ingest, seed)
    bad_seed = raw("contact", f"h{run}-q", customer_id="C-HOTHER", email="bad", name="Someone Else")
    quarantine_id = (await stream(ingest, [bad_seed]))[0].quarantine_id
    await erase(ingest, customer, f"E-H{run}")
    assert scan(ingest.url, seed_values) == []

    drawn: list[str] = []
    records: list[dict[str, Any]] = []
    for i in range(data.draw(st.integers(1, 6), label="records")):
        kind = data.draw(st.sampled_from([k for k in KINDS if k in PERSONAL_FIELDS]), label="kind")
        field = data.draw(
            st.sampled_from([f for f in PERSONAL_FIELDS[kind] if f not in ("phone", "credit_code", "preferred_hours")])
        )
        value = f"pv{run}z{i}{data.draw(_texts)}"
        drawn.append(value)
        record = raw(kind, f"h{run}-{i}", customer_id=customer, **{field: value})
        if data.draw(st.booleans(), label="invalid"):
            record.pop("occurred_at")  # would be quarantined, were the account not erased
        records.append(record)
    path = data.draw(st.sampled_from(["submit", "stream", "batches", "replay"]), label="path")
    if path == "submit":
        for record in records:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await ingest.stub.SubmitRecord(
                    ingest_pb2.SubmitRecordRequest(record=dict_to_record(record)), metadata=SVC
                )
            assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    elif path == "stream":
        assert all(refused(r) for r in await stream(ingest, records))
    elif path == "batches":
        batch = ingest_pb2.RecordBatch(records=[dict_to_record(r) for r in records])
        answers = [a async for a in ingest.stub.IngestRecordBatches(iter([batch]), metadata=SVC)]
        assert all(refused(r) for r in answers[0].results)
    else:
        correction = {**records[0], "source": bad_seed["source"], "source_record_id": bad_seed["source_record_id"]}
        request = ingest_pb2.ReplayQuarantineRequest(
            corrections=[
                ingest_pb2.QuarantineCorrection(quarantine_id=quarantine_id, record=dict_to_record(correction))
            ]
        )
        done = await ingest.stub.ReplayQuarantine(request, metadata=SVC)
        assert done.moved == 0 and refused(done.results[0])
    assert scan(ingest.url, drawn + seed_values) == []


# --- retention ------------------------------------------------------------------------------------


async def test_retention_blanks_old_payloads_and_deletes_old_quarantine_entries(retaining: Ingest) -> None:
    records, values = personal_records("C-OLD", "Old4")
    await stream(retaining, records)
    await stream(retaining, [raw("contact", "Old4-bad", customer_id="C-OLD", email="bad", name="Quarantined Old4")])
    values.append("Quarantined Old4")
    retention = retaining.parts["retention"]
    now = time.time()

    # Within both periods: nothing changes.
    report = await retention.run(now=now + 86_400)
    assert (report.quarantine_deleted, report.log_entries_scanned, report.log_payloads_blanked) == (0, 0, 0)
    # Eight days on, payloads are past their 7 days; the quarantine entry is kept for 30.
    report = await retention.run(now=now + 8 * 86_400)
    assert (report.quarantine_deleted, report.log_entries_scanned) == (0, len(KINDS))
    assert report.log_payloads_blanked == len(PERSONAL_FIELDS)
    assert {v for _, _, v in scan(retaining.url, values)} == {"Quarantined Old4"}
    entries = await log(retaining)
    assert len(entries) == len(KINDS) and not any(e.erased for e in entries)
    assert (
        next(e for e in entries if e.record.HasField("billing")).record.billing.fee_fen
        == PAYLOADS["billing"]["fee_fen"]
    )
    # A second round finds nothing left to blank; past 30 days the quarantine entry goes.
    report = await retention.run(now=now + 31 * 86_400)
    assert (report.quarantine_deleted, report.log_entries_scanned, report.log_payloads_blanked) == (1, 0, 0)
    assert scan(retaining.url, values) == []
    # A re-sent old record is still a duplicate: retention does not bring its values back.
    again = await stream(retaining, records)
    assert {r.status for r in again} == {ingest_pb2.RECORD_STATUS_DUPLICATE}
    assert scan(retaining.url, values) == []


async def test_retention_is_off_by_default(ingest: Ingest) -> None:
    assert not ingest.parts["retention"].enabled
    records, values = personal_records("C-KEEP", "Keep5")
    await stream(ingest, records)
    report = await ingest.parts["retention"].run(now=time.time() + 3650 * 86_400)
    assert report.log_entries_scanned == 0 and report.quarantine_deleted == 0
    assert {v for _, _, v in scan(ingest.url, values)} == set(values)


async def test_the_retention_round_runs_periodically_when_a_period_is_set(db_url: str) -> None:
    settings_ = {"quarantine_retention_days": 1, "retention_interval_seconds": 0.05}
    async with asynccontextmanager(_serve)(db_url, **settings_) as running:
        assert running.parts["retention"].enabled
        await stream(running, [raw("contact", "Old6-bad", customer_id="C-OLD6", email="bad", name="Quarantined Old6")])
        engine = sa.create_engine(running.url)
        try:
            with engine.begin() as conn:  # received long ago (the service's clock is the real one)
                conn.execute(sa.text("UPDATE ingest_quarantine SET received_at_us = 1000000"))

            def cleared() -> bool:
                with engine.connect() as conn:
                    return conn.execute(sa.text("SELECT count(*) FROM ingest_quarantine")).scalar_one() == 0

            await wait_until(cleared, timeout=10, message="the periodic retention round did not run")
        finally:
            engine.dispose()
        assert scan(running.url, ["Quarantined Old6"]) == []


# --- an erasure racing the account's own records -----------------------------------------------------


async def test_an_erasure_racing_a_stream_of_the_account_leaves_nothing_personal(db_url: str) -> None:
    async with asynccontextmanager(_serve)(db_url, batch_max_records=8) as running:
        records = [
            raw("contact", f"race-{i}", customer_id="C-RACE", name=f"Racer {i:03d}", person_id=f"P-{i}")
            for i in range(200)
        ]
        values = [f"Racer {i:03d}" for i in range(200)]
        sending = asyncio.create_task(stream(running, records))
        store = running.parts["store"]
        await wait_until(lambda: store.last_sequence() > 0, timeout=30)
        await erase(running, "C-RACE")
        results = await sending
        assert scan(running.url, values) == []
        erased = {e.sequence: e.erased for e in await log(running)}
        for result in results:  # committed before the erasure (blanked, erased) or refused after it
            assert refused(result) or (result.status == ingest_pb2.RECORD_STATUS_ACCEPTED and erased[result.sequence])
        assert any(refused(r) for r in results) or len(erased) == len(records)
