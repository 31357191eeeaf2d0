"""Store tests on SQLite and PostgreSQL: versions, duplicates, quarantine, gap-free sequences."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from services.ingest.api.converters import dict_to_record, record_to_dict
from services.ingest.domain.records import KINDS
from services.ingest.store import IngestStore, QuarantineFilter, migrate_store
from services.ingest.tests.samples import NOW, raw
from services.ingest.usecases.ingest_records import ingest
from telco360_runtime.db import Database


@pytest.fixture
def store(db_url: str) -> Iterator[IngestStore]:
    migrate_store(db_url)
    db = Database(db_url, workers=4)
    try:
        yield IngestStore(db)
    finally:
        db.dispose()


def _statuses(outcomes) -> list[str]:
    return [o.status for o in outcomes]


@pytest.mark.parametrize("kind", KINDS)
def test_protobuf_round_trip_of_every_kind(kind: str) -> None:
    record = dict_to_record(raw(kind))
    assert record.WhichOneof("payload") == kind
    assert dict_to_record(record_to_dict(record)) == record


def test_new_duplicate_and_corrected_versions(store: IngestStore) -> None:
    _, first, last = ingest(store, [raw("billing", "b-1"), raw("contact", "c-1")], NOW)
    assert _statuses(first) == ["ACCEPTED", "ACCEPTED"]
    assert [(o.sequence, o.version) for o in first] == [(1, 1), (2, 1)]
    assert last == 2

    _, again, last = ingest(store, [raw("billing", "b-1"), raw("contact", "c-1")], NOW)
    assert _statuses(again) == ["DUPLICATE", "DUPLICATE"]
    assert [(o.sequence, o.version) for o in again] == [(1, 1), (2, 1)]
    assert last == 2

    _, fixed, last = ingest(store, [raw("billing", "b-1", fee_fen=999)], NOW)
    assert _statuses(fixed) == ["CORRECTED"]
    assert (fixed[0].sequence, fixed[0].version) == (3, 2)
    log = store.read_log(0, 10)
    assert [(e.sequence, e.version) for e in log] == [(1, 1), (2, 1), (3, 2)]
    assert '"fee_fen":999' in log[2].payload
    stats = store.stats()
    assert (stats.records, stats.log_entries, stats.last_sequence) == (2, 3, 3)


def test_same_key_twice_in_one_batch(store: IngestStore) -> None:
    batch = [raw("billing", "b-1"), raw("billing", "b-1"), raw("billing", "b-1", fee_fen=5)]
    _, outcomes, _ = ingest(store, batch, NOW)
    assert _statuses(outcomes) == ["ACCEPTED", "DUPLICATE", "CORRECTED"]
    assert [o.version for o in outcomes] == [1, 1, 2]
    _, outcomes, _ = ingest(store, [raw("billing", "b-1", fee_fen=5)], NOW)
    assert _statuses(outcomes) == ["DUPLICATE"]


def test_normalisation_makes_equivalent_inputs_duplicates(store: IngestStore) -> None:
    ingest(store, [raw("contact", "c-1", phone="138 0013 8000", email="LI@EXAMPLE.COM")], NOW)
    _, outcomes, _ = ingest(store, [raw("contact", "c-1", phone="+8613800138000", email="li@example.com")], NOW)
    assert _statuses(outcomes) == ["DUPLICATE"]


def test_rejections_are_quarantined_once_and_settled_by_a_good_version(store: IngestStore) -> None:
    bad = raw("billing", "b-9", fee_fen=-5)
    _, first, _ = ingest(store, [bad], NOW)
    assert _statuses(first) == ["REJECTED"] and first[0].quarantine_id is not None
    _, again, _ = ingest(store, [bad], NOW)
    assert again[0].quarantine_id == first[0].quarantine_id  # re-sent: same entry
    worse = raw("billing", "b-9", fee_fen=-7)
    _, updated, _ = ingest(store, [worse], NOW)
    assert updated[0].quarantine_id == first[0].quarantine_id  # newer bad version replaces it
    assert store.stats().quarantined == 1

    _, good, _ = ingest(store, [raw("billing", "b-9")], NOW)
    assert _statuses(good) == ["ACCEPTED"]
    assert store.stats().quarantined == 0
    entry = store.get_quarantine([first[0].quarantine_id])[first[0].quarantine_id]
    assert entry.resolved and entry.resolved_sequence == good[0].sequence
    assert '"fee_fen":-7' in entry.record


def test_records_without_identity_are_quarantined_by_content(store: IngestStore) -> None:
    nameless = raw("billing", "")
    _, a, _ = ingest(store, [nameless, nameless], NOW)
    _, b, _ = ingest(store, [nameless], NOW)
    assert a[0].quarantine_id == a[1].quarantine_id == b[0].quarantine_id
    other = raw("billing", "", fee_fen=1)
    _, c, _ = ingest(store, [other], NOW)
    assert c[0].quarantine_id != a[0].quarantine_id


def test_bad_then_good_in_one_batch_and_rerun_is_stable(store: IngestStore) -> None:
    batch = [raw("billing", "b-1", fee_fen=-1), raw("billing", "b-1")]
    _, first, _ = ingest(store, batch, NOW)
    assert _statuses(first) == ["REJECTED", "ACCEPTED"]
    entry = store.get_quarantine([first[0].quarantine_id])[first[0].quarantine_id]
    assert entry.resolved and entry.resolved_sequence == first[1].sequence
    _, second, _ = ingest(store, batch, NOW)
    assert _statuses(second) == ["REJECTED", "DUPLICATE"]
    assert second[0].quarantine_id == first[0].quarantine_id
    items, total = store.list_quarantine(QuarantineFilter(include_resolved=True), None, 10)
    assert total == 1 and len(items) == 1


def test_quarantine_filters_and_cursor(store: IngestStore) -> None:
    batch = [raw("billing", f"b-{i}", fee_fen=-1, source="billing") for i in range(5)]
    batch += [raw("contact", f"c-{i}", phone="12", source="crm") for i in range(3)]
    ingest(store, batch, NOW)
    by_source, total = store.list_quarantine(QuarantineFilter(source="crm"), None, 10)
    assert total == 3 and len(by_source) == 3
    by_field, total = store.list_quarantine(QuarantineFilter(reason="billing.fee_fen"), None, 10)
    assert total == 5
    by_reason, total = store.list_quarantine(QuarantineFilter(reason="INVALID_FORMAT"), None, 10)
    assert total == 3
    page1, total = store.list_quarantine(QuarantineFilter(), None, 3)
    cursor = (page1[-1].received_at_us, page1[-1].id)
    page2, _ = store.list_quarantine(QuarantineFilter(), cursor, 10)
    assert total == 8 and len(page1) + len(page2) == 8
    assert not {i.id for i in page1} & {i.id for i in page2}
    at = page1[0].received_at_us
    none_before, total = store.list_quarantine(QuarantineFilter(received_before_us=at), None, 10)
    assert total == 0 and none_before == []


def test_concurrent_writers_give_gap_free_ordered_sequences(store: IngestStore) -> None:
    """Writers race from several threads; a reader polling meanwhile never skips a sequence."""
    writers, batches, size = 4, 8, 25
    seen: list[int] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for b in range(batches):
                records = [raw("billing", f"w{w}-b{b}-{i}") for i in range(size)]
                ingest(store, records, NOW)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    def read() -> None:
        after = 0
        while True:
            finished = done.is_set()
            for entry in store.read_log(after, 1000):
                seen.append(entry.sequence)
                after = entry.sequence
            if finished:
                return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    total = writers * batches * size
    assert seen == list(range(1, total + 1))
    assert store.last_sequence() == total


def test_concurrent_stores_on_one_database(db_url: str) -> None:
    """Two store instances (like two replicas) share the counter and stay gap-free."""
    migrate_store(db_url)
    dbs = [Database(db_url, workers=2) for _ in range(2)]
    stores = [IngestStore(db) for db in dbs]
    try:

        def write(s: IngestStore, tag: str) -> None:
            for b in range(6):
                ingest(s, [raw("billing", f"{tag}-{b}-{i}") for i in range(20)], NOW)

        threads = [threading.Thread(target=write, args=(s, f"r{n}")) for n, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log = stores[0].read_log(0, 10_000)
        assert [e.sequence for e in log] == list(range(1, 241))
        assert stores[1].stats().records == 240
    finally:
        for db in dbs:
            db.dispose()
