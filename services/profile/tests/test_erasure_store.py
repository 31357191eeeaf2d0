"""Erasure bookkeeping in profile's store: idempotent requests, per-service progress, the log's
erased entries, reactivation, retention and listing (real stores, SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from services.profile.domain import erasure as er
from services.profile.store import views
from services.profile.store.models import Account, Erasure
from services.profile.tests.builders import NOW, Log
from services.profile.usecases.profile import ProfileUseCases

DAY = dt.timedelta(days=1)
PEERS = ("contact", "ingest", "scoring")


def _states(view: er.ErasureView) -> dict[str, int]:
    return {p.service: p.state for p in view.services}


def _known(store, log: Log, cid: str) -> None:
    store.apply(
        [
            log.account(cid),
            log.rec("contact", cid, {"person_id": "p1", "name": "Wang Fang", "phone": "+8613800000000"}, NOW - DAY),
            *log.flat_bills(cid, 3, {"voice": 100}),
        ]
    )


def test_a_request_erases_profile_at_once_and_records_every_service(store, log: Log) -> None:
    _known(store, log, "E1")
    view, created = store.request_erasure("E1", "customer request", False, er.TRIGGER_REQUEST, PEERS)
    assert created and view.trigger == "request" and not view.complete
    assert [p.service for p in view.services] == ["profile", "contact", "ingest", "scoring"]
    assert _states(view) == {"profile": er.DONE, "contact": er.PENDING, "ingest": er.PENDING, "scoring": er.PENDING}
    assert view.removed["contact_records"] == 1 and view.erased_at == NOW
    with store.db.session() as s:
        assert views.customer360(s, "E1", False, 12, 20) is None
    # A repeat answers the same erasure (never NOT_FOUND), nothing erased twice.
    again, created = store.request_erasure("E1", "again", True, er.TRIGGER_REQUEST, PEERS)
    assert not created and again.erasure_id == view.erasure_id and again.removed == view.removed
    assert store.erasure_status("E1").erasure_id == view.erasure_id
    assert store.request_erasure("NOPE", "x", False, er.TRIGGER_REQUEST, PEERS) is None
    assert store.erasure_status("NOPE") is None


def test_progress_is_recorded_per_service_until_each_answers(store, log: Log) -> None:
    _known(store, log, "E2")
    view, _ = store.request_erasure("E2", "request", True, er.TRIGGER_REQUEST, PEERS)
    tasks = store.due_erasure_tasks(["ingest", "scoring"])  # contact not configured here: not called
    assert [(t.service, t.lift, t.purge_facts) for t in tasks] == [("ingest", False, True), ("scoring", False, True)]
    store.erasure_call_failed([tasks[0]], "UNAVAILABLE: connection refused")
    store.erasure_call_done(tasks[1], {"scores": 3}, NOW + DAY)
    status = store.erasure_status("E2")
    ingest = next(p for p in status.services if p.service == "ingest")
    scoring = next(p for p in status.services if p.service == "scoring")
    assert ingest.state == er.PENDING and ingest.attempts == 1 and ingest.last_error.startswith("UNAVAILABLE")
    assert scoring.state == er.DONE and scoring.removed == {"scores": 3} and scoring.done_at == NOW + DAY
    store.erasure_call_done(tasks[0], {"log_payloads": 7}, None)
    assert [t.service for t in store.due_erasure_tasks(PEERS)] == ["contact"]
    store.erasure_call_done(store.due_erasure_tasks(PEERS)[0], {}, None)
    done = store.erasure_status("E2")
    assert done.complete and {p.service: p.attempts for p in done.services}["ingest"] == 2
    assert next(p for p in done.services if p.service == "ingest").last_error == ""
    assert store.due_erasure_tasks(PEERS) == []


def test_an_erased_log_entry_keeps_the_account_erased_on_a_rebuild(store, log: Log) -> None:
    account = log.account("L1")
    contact = log.rec("contact", "L1", {"person_id": "p1", "name": "", "phone": ""}, NOW - DAY)
    # The account profile never saw: the first entry is already marked erased by ingest.
    result = store.apply([dataclasses.replace(account, erased=True), dataclasses.replace(contact, erased=True)])
    assert result.applied == 0 and result.skipped == 2
    status = store.erasure_status("L1")
    assert status.trigger == "log" and _states(status) == {"profile": er.DONE}
    # The dispatcher adds the other services' parts (they answer idempotently).
    assert {t.service for t in store.due_erasure_tasks(PEERS)} == set(PEERS)
    assert store.apply([log.account("L1", name="Org again")]).applied == 0
    with store.db.session() as s:
        assert s.get(Erasure, "L1") is not None and s.get(Account, "L1").erased
        assert views.customer360(s, "L1", False, 12, 20) is None
    # An account profile knows: the erased entry erases it.
    _known(store, log, "L2")
    store.apply([dataclasses.replace(log.account("L2", name=""), erased=True)])
    assert store.erasure_status("L2").removed["contact_records"] == 1
    with store.db.session() as s:
        assert s.get(Account, "L2").name == ""


def test_an_erasure_made_from_the_log_is_incomplete_until_every_configured_service_answers(
    store, log: Log, clock
) -> None:
    # A profile wired with its peers (as app.py does): the log-made erasure owes them their
    # parts in the same transaction, so no status read between two dispatcher rounds can
    # call it complete with profile's part alone.
    wired = ProfileUseCases(store.db, clock=clock, base_ttl_seconds=0, erasure_services=PEERS)
    _known(wired, log, "L3")
    wired.apply([dataclasses.replace(log.account("L3", name=""), erased=True)])
    status = wired.erasure_status("L3")
    assert status.trigger == "log" and not status.complete
    assert _states(status) == {"profile": er.DONE, **dict.fromkeys(PEERS, er.PENDING)}
    for task in wired.due_erasure_tasks(PEERS):
        assert not wired.erasure_status("L3").complete
        wired.erasure_call_done(task, {}, None)
    assert wired.erasure_status("L3").complete


def test_reactivation_lifts_profile_at_once_and_owes_every_service_its_lift(store, log: Log) -> None:
    _known(store, log, "R1")
    view, _ = store.request_erasure("R1", "request", False, er.TRIGGER_REQUEST, PEERS)
    for task in store.due_erasure_tasks(PEERS):
        store.erasure_call_done(task, {}, None)
    assert store.reactivate("NEVER", "new contract") is None
    lifted = store.reactivate("R1", "new contract C-1")
    assert lifted.erasure_id == view.erasure_id and lifted.reactivated_at == NOW and not lifted.complete
    assert _states(lifted) == {"profile": er.LIFTED, **dict.fromkeys(PEERS, er.LIFT_PENDING)}
    tasks = store.due_erasure_tasks(PEERS)
    assert {(t.service, t.lift, t.reason) for t in tasks} == {(p, True, "new contract C-1") for p in PEERS}
    for task in tasks:
        store.erasure_call_done(task, {}, None)
    assert store.erasure_status("R1").complete
    assert store.reactivate("R1", "again").erasure_id == view.erasure_id  # a repeat answers the status
    # New records apply again; entries ingest still marks erased are skipped, never re-erase it.
    assert store.apply([dataclasses.replace(log.account("R1", name="Org R1 new"), version=2)]).applied == 1
    store.apply([dataclasses.replace(log.account("R1", name=""), version=3, erased=True)])
    with store.db.session() as s:
        assert s.get(Account, "R1").name == "Org R1 new" and not s.get(Account, "R1").erased
    # A new erasure after the reactivation is a new erasure.
    second, created = store.request_erasure("R1", "request", False, er.TRIGGER_REQUEST, PEERS)
    assert created and second.erasure_id != view.erasure_id and not second.complete


def test_retention_names_accounts_terminated_longer_ago(store, log: Log, clock) -> None:
    _known(store, log, "T1")
    _known(store, log, "T2")
    store.apply(
        [
            log.rec("lifecycle", "T1", {"action": 1, "reason": 1}, NOW - 400 * DAY, srid="LC-T1"),
            log.rec("lifecycle", "T2", {"action": 1, "reason": 1}, NOW - 10 * DAY, srid="LC-T2"),
        ]
    )
    assert store.retention_due(0) == []
    assert store.retention_due(365) == ["T1"]
    assert store.retention_due(5) == ["T1", "T2"]


def test_listing_pages_in_erasure_order(store, log: Log, clock) -> None:
    for i in range(5):
        _known(store, log, f"P{i}")
        clock.now = NOW + i * DAY
        store.request_erasure(f"P{i}", "request", False, er.TRIGGER_REQUEST, PEERS if i % 2 else ())
    first = store.list_erasures("", 2, False)
    assert [v.customer_id for v in first] == ["P0", "P1", "P2"]  # one more: there is a next page
    rest = store.list_erasures(first[1].erasure_id, 2, False)
    assert [v.customer_id for v in rest] == ["P2", "P3", "P4"]
    assert [v.customer_id for v in store.list_erasures("", 10, True)] == ["P1", "P3"]
