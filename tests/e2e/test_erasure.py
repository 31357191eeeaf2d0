"""Erasure across the suite with real processes (issue #15, "done when").

The four services run as processes on their own stores (SQLite files; PostgreSQL databases
too when TELCO360_TEST_PG_URL is set). A small seeded base is loaded (plus a rejected record
of an erased account, so quarantine holds its personal values), contact takes reservations
for the accounts, then:
1. contact is stopped and two accounts are erased through profile: profile, ingest and scoring
   apply it, contact stays PENDING with its last error;
2. contact starts again on the same store: the erasure completes (every service DONE);
3. profile is rebuilt from the log (a new profile store, same ingest): the accounts stay erased;
4. the accounts' old records are sent again: ingest refuses them, each with a clear result;
5. every table of every store (the old and the new profile store included) is scanned, every
   text, JSON and binary column: none of the erased accounts' names, phones or e-mails remains.
The status of both erasures (old profile, then rebuilt profile) shows every service DONE.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2, contact_pb2_grpc
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_datagen import generate
from telco360_runtime.db import normalise_url
from telco360_runtime.testing import free_port

pytestmark = pytest.mark.e2e

ROOT = pathlib.Path(__file__).resolve().parents[2]
PG_ENV = "TELCO360_TEST_PG_URL"
NAMES = ("ingest", "profile", "scoring", "contact")
ACCOUNTS, MONTHS, SEED = 8, 4, 12
DONE = profile_pb2.ERASURE_STATE_DONE
PENDING = profile_pb2.ERASURE_STATE_PENDING


class Suite:
    """The four services as processes, each on its own store, on fixed ports."""

    def __init__(self, root: pathlib.Path, backend: str) -> None:
        self.root, self.backend = root, backend
        self.pg_databases: list[str] = []
        self.ports = {name: free_port() for name in NAMES}
        self.urls = {name: self.new_store(name) for name in NAMES}
        self.old_stores: list[str] = []
        self.processes: dict[str, subprocess.Popen] = {}

    def addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def new_store(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.root / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
        admin = normalise_url(os.environ[PG_ENV])
        database = f"e2e_erase_{name}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        engine.dispose()
        self.pg_databases.append(database)
        return sa.engine.make_url(admin).set(database=database).render_as_string(hide_password=False)

    def env(self, name: str) -> dict[str, str]:
        prefix = f"TELCO360_{name.upper()}_"
        env = {
            **os.environ,
            f"{prefix}PORT": str(self.ports[name]),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}DATABASE_URL": self.urls[name],
            f"{prefix}GRACE_SECONDS": "1",
        }
        peers = {
            "profile": ("ingest", "scoring", "contact"),
            "scoring": ("profile",),
            "contact": ("profile", "scoring"),
        }
        for peer in peers.get(name, ()):
            env[f"{prefix}{peer.upper()}_ADDR"] = self.addr(peer)
        if name == "profile":
            env |= {f"{prefix}ERASURE_RETRY_SECONDS": "0.5", f"{prefix}RECONNECT_SECONDS": "0.2"}
        if name == "scoring":
            env[f"{prefix}REPORT_DIR"] = str(self.root / "reports")
        return env

    def start(self, name: str) -> None:
        log = open(self.root / f"{name}.log", "a")  # noqa: SIM115 - the process owns it until it ends
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=self.env(name), stdout=log, stderr=log
        )
        with grpc.insecure_channel(self.addr(name)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 90
            while True:
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        return
                except grpc.RpcError:
                    pass
                if self.processes[name].poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{name} did not start:\n{self.log(name)[-4000:]}")
                time.sleep(0.2)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        if self.pg_databases:
            engine = sa.create_engine(normalise_url(os.environ[PG_ENV]), isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for database in self.pg_databases:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            engine.dispose()


def wait_for(
    what: str, predicate: Callable[[], Any], timeout: float = 120.0, describe: Callable[[], Any] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {describe()}" if describe else ""))
        time.sleep(0.25)


def applied(ingest: Any, profile: Any) -> bool:
    last = ingest.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=10).last_sequence
    return profile.GetSyncStatus(profile_pb2.GetSyncStatusRequest(), timeout=10).applied_sequence >= last


def send(ingest: Any, records: list[ingest_pb2.Record]) -> list[ingest_pb2.RecordResult]:
    """Send records in batches of 200; every record's result, in order."""
    batches = [ingest_pb2.RecordBatch(records=records[i : i + 200]) for i in range(0, len(records), 200)]
    return [r for answer in ingest.IngestRecordBatches(iter(batches), timeout=120) for r in answer.results]


def personal_values(records: list[ingest_pb2.Record], erased: set[str]) -> set[str]:
    """The erased accounts' organisation names, people's names, phones and e-mails.

    A person's name that some other account's person also has is left out of the scan (it
    rightly stays with that account).
    """
    mine: set[str] = set()
    others: set[str] = set()
    for r in records:
        kind = r.WhichOneof("payload")
        values: set[str] = set()
        if kind == "contact":
            values = {r.contact.name, r.contact.phone, r.contact.email}
        elif kind == "account":
            values = {r.account.name}
            if r.account.attributes["name_en"].string_value:
                values.add(r.account.attributes["name_en"].string_value)
        (mine if r.customer_id in erased else others).update(v for v in values if v)
    return mine - others


def holds(cell: str | bytes | memoryview, value: str) -> bool:
    """Whether a stored cell holds the value as a whole field: the cell itself, a JSON string
    (escaped or not), or a protobuf string field (length-prefixed UTF-8) in binary cells.

    Whole fields, not substrings: a two-character name like "王丽" is part of other people's
    names ("王丽华"), which rightly stay.
    """
    if isinstance(cell, bytes | memoryview):
        raw = bytes(cell)
        encoded = value.encode()
        return raw == encoded or (len(encoded) < 128 and bytes([len(encoded)]) + encoded in raw)
    return (
        cell == value
        or json.dumps(value, ensure_ascii=False) in cell
        or json.dumps(value) in cell
        or (value.isascii() and len(value) > 6 and value in cell)  # phones and e-mails inside any text
    )


def scan(url: str, values: set[str]) -> list[str]:
    """Every (table.column: value) of a store holding one of the values, in any text/JSON/binary column."""
    engine = sa.create_engine(normalise_url(url))
    found: list[str] = []
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as conn:
            for table in inspector.get_table_names():
                columns = [c["name"] for c in inspector.get_columns(table)]
                quoted = ", ".join(f'"{c}"' for c in columns)
                for row in conn.execute(sa.text(f'SELECT {quoted} FROM "{table}"')):
                    for column, cell in zip(columns, row, strict=True):
                        if isinstance(cell, dict | list):
                            cell = json.dumps(cell, ensure_ascii=False)
                        if isinstance(cell, str | bytes | memoryview):
                            found.extend(f"{table}.{column}: {v}" for v in values if holds(cell, v))
    finally:
        engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def suite(request, tmp_path: pathlib.Path) -> Iterator[Suite]:
    if request.param == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL variant needs {PG_ENV}")
    running = Suite(tmp_path, request.param)
    try:
        for name in NAMES:
            running.start(name)
        yield running
    finally:
        running.close()


def _policy() -> contact_pb2.ContactPolicy:
    return contact_pb2.ContactPolicy(
        policy_id="e2e-erasure",
        name="Erasure test policy",
        active=True,
        caps=[
            contact_pb2.FrequencyCap(
                cap_id="sms-7d",
                scope=contact_pb2.CAP_SCOPE_ACCOUNT,
                channels=[contact_pb2.CHANNEL_SMS],
                max_contacts=5,
                window=contact_pb2.Window(
                    kind=contact_pb2.WINDOW_KIND_ROLLING, unit=contact_pb2.WINDOW_UNIT_DAY, size=7
                ),
            )
        ],
        purpose_classes=[contact_pb2.PurposeClass(purpose=contact_pb2.PURPOSE_MARKETING, requires_consent=False)],
    )


def test_an_erased_account_leaves_no_personal_data_anywhere(suite: Suite) -> None:
    records = list(generate(ACCOUNTS, MONTHS, seed=SEED).records())
    ids = sorted({r.customer_id for r in records})
    erased = {ids[1], ids[4]}
    values = personal_values(records, erased)
    assert len(values) >= 8, values  # organisation names, people's names, phones, e-mails

    channels = {name: grpc.insecure_channel(suite.addr(name)) for name in NAMES}
    ingest = ingest_pb2_grpc.IngestServiceStub(channels["ingest"])
    contact = contact_pb2_grpc.ContactServiceStub(channels["contact"])

    def profile() -> profile_pb2_grpc.ProfileServiceStub:
        return profile_pb2_grpc.ProfileServiceStub(channels["profile"])

    try:
        # A rejected record of an erased account: quarantine holds its person's name and e-mail.
        person = next(r for r in records if r.customer_id in erased and r.WhichOneof("payload") == "contact")
        bad = ingest_pb2.Record()
        bad.CopyFrom(person)
        bad.source_record_id = person.source_record_id + "-bad"
        bad.contact.phone = "12"
        sent = send(ingest, [*records, bad])
        assert sent[-1].status == ingest_pb2.RECORD_STATUS_REJECTED and sent[-1].quarantine_id
        wait_for("profile applying the base", lambda: applied(ingest, profile()))

        contact.CreatePolicy(contact_pb2.CreatePolicyRequest(policy=_policy()), timeout=30)
        for cid in ids:
            contact.ReserveContact(
                contact_pb2.ReserveContactRequest(
                    idempotency_key=f"r-{cid}",
                    contact=contact_pb2.CheckContactRequest(
                        customer_id=cid,
                        channel=contact_pb2.CHANNEL_SMS,
                        purpose=contact_pb2.PURPOSE_MARKETING,
                        person_id=f"{cid}-P01",
                    ),
                    hold_seconds=600,
                ),
                timeout=30,
            )

        # 1. Contact is down during the request.
        suite.stop("contact")
        first = {}
        for cid in sorted(erased):
            reply = profile().EraseCustomer(
                profile_pb2.EraseCustomerRequest(customer_id=cid, reason="customer request"), timeout=30
            )
            assert reply.removed["contact_records"] >= 1
            first[cid] = reply.status.erasure_id

        def parts(cid: str) -> dict[str, profile_pb2.ServiceErasure]:
            status = profile().GetErasureStatus(profile_pb2.GetErasureStatusRequest(customer_id=cid), timeout=10)
            return {s.service: s for s in status.services}

        def peers_but_contact_done() -> bool:
            for cid in erased:
                got = parts(cid)
                for service in ("ingest", "scoring"):
                    if got[service].state != DONE:
                        return False
                if got["contact"].state != PENDING or got["contact"].attempts < 1:
                    return False
            return True

        def statuses() -> list[profile_pb2.ErasureStatus]:
            return [
                profile().GetErasureStatus(profile_pb2.GetErasureStatusRequest(customer_id=cid), timeout=10)
                for cid in sorted(erased)
            ]

        wait_for(
            "ingest and scoring applying the erasures",
            peers_but_contact_done,
            60,
            lambda: [(st.customer_id, s.service, s.state, s.attempts) for st in statuses() for s in st.services],
        )
        down = parts(sorted(erased)[0])["contact"]
        assert down.last_error.startswith("UNAVAILABLE"), down
        assert parts(sorted(erased)[0])["ingest"].removed["log_payloads"] >= 1

        # 2. Contact comes back: the erasure completes.
        suite.start("contact")
        contact = contact_pb2_grpc.ContactServiceStub(channels["contact"])

        def complete(cid: str) -> bool:
            return profile().GetErasureStatus(profile_pb2.GetErasureStatusRequest(customer_id=cid), timeout=10).complete

        for cid in erased:
            wait_for(f"the erasure of {cid} completing", lambda cid=cid: complete(cid), timeout=60)
            assert {s: p.state for s, p in parts(cid).items()} == dict.fromkeys(NAMES, DONE)
        listed = profile().ListErasures(profile_pb2.ListErasuresRequest(incomplete_only=True), timeout=10)
        assert list(listed.erasures) == []

        # 3. Rebuild profile from the log: a new profile store, the same ingest.
        suite.stop("profile")
        suite.old_stores.append(suite.urls["profile"])
        suite.urls["profile"] = suite.new_store("profile")
        suite.start("profile")
        wait_for("the rebuilt profile applying the log", lambda: applied(ingest, profile()))
        for cid in erased:
            with pytest.raises(grpc.RpcError) as info:
                profile().GetCustomer360(profile_pb2.GetCustomer360Request(customer_id=cid), timeout=10)
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            wait_for(f"the rebuilt profile's status of {cid}", lambda cid=cid: complete(cid), timeout=60)
            rebuilt = profile().GetErasureStatus(profile_pb2.GetErasureStatusRequest(customer_id=cid), timeout=10)
            assert rebuilt.trigger == "log" and {s.service for s in rebuilt.services} == set(NAMES)
            # A repeat of the request on the rebuilt profile answers the existing erasure.
            again = profile().EraseCustomer(profile_pb2.EraseCustomerRequest(customer_id=cid, reason="again"))
            assert again.status.erasure_id == rebuilt.erasure_id
        kept = sorted(set(ids) - erased)[0]
        assert profile().GetCustomer360(profile_pb2.GetCustomer360Request(customer_id=kept), timeout=10).account.name

        # 4. The erased accounts' old records again: each refused with a clear result, nothing stored.
        old = [r for r in records if r.customer_id in erased]
        before = ingest.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=10).last_sequence
        results = send(ingest, old)
        assert len(results) == len(old)
        assert all(r.status == ingest_pb2.RECORD_STATUS_REJECTED for r in results), results[:3]
        assert all(r.violations and r.violations[0].field == "customer_id" for r in results), results[:3]
        assert ingest.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=10).last_sequence == before
        quarantined = ingest.ListQuarantine(
            ingest_pb2.ListQuarantineRequest(page=common_pb2.PageRequest(page_size=1000)), timeout=10
        )
        assert not [q for q in quarantined.entries if q.record.customer_id in erased and q.record.contact.name]
        wait_for("profile applying everything", lambda: applied(ingest, profile()))
        # Contact refuses to contact an erased account.
        with pytest.raises(grpc.RpcError) as info:
            contact.CheckContact(
                contact_pb2.CheckContactRequest(
                    customer_id=sorted(erased)[0],
                    channel=contact_pb2.CHANNEL_SMS,
                    purpose=contact_pb2.PURPOSE_MARKETING,
                ),
                timeout=10,
            )
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        for channel in channels.values():
            channel.close()
        for name in list(suite.processes):
            suite.stop(name)

    # 5. Nothing personal of the erased accounts remains in any table of any store.
    leftovers = {
        label: scan(url, values)
        for label, url in [*suite.urls.items(), *(("profile (before the rebuild)", u) for u in suite.old_stores)]
    }
    assert {label: found for label, found in leftovers.items() if found} == {}
    # The scan would have found them: the kept accounts' values are still there.
    kept_values = personal_values(records, set(ids) - erased)
    assert scan(suite.urls["ingest"], kept_values)
