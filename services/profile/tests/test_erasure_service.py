"""EraseCustomer across the suite through profile's real server: idempotent answers, status,
listing, a peer that is down during the request and comes back, reactivation, retention and audit.

The peers here are real gRPC servers on the ports profile was told (ingest, scoring and
contact services answering ApplyErasure/LiftErasure and recording what they were asked);
the end-to-end test (tests/e2e/test_erasure.py) runs the real services as processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest

from services.profile.peers.erasure import ErasurePeers
from services.profile.tests.builders import NOW, Log
from services.profile.tests.harness import start_profile
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2_grpc
from telco360.ingest.v1 import ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.testing import free_port, wait_until
from telco360_runtime.timeconv import to_timestamp

DAY = dt.timedelta(days=1)
PENDING, DONE, LIFT_PENDING, LIFTED = (
    pb.ERASURE_STATE_PENDING,
    pb.ERASURE_STATE_DONE,
    pb.ERASURE_STATE_LIFT_PENDING,
    pb.ERASURE_STATE_LIFTED,
)


class _Erasing:
    """ApplyErasure / LiftErasure of one peer: a tombstone per account, repeats answer the first result."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tombstones: dict[str, tuple[str, dt.datetime]] = {}
        self.calls: list[tuple[str, str]] = []

    async def ApplyErasure(self, request, context):
        self.calls.append(("apply", request.customer_id))
        if request.customer_id not in self.tombstones:
            self.tombstones[request.customer_id] = (request.erasure_id, dt.datetime.now(dt.UTC))
        _, at = self.tombstones[request.customer_id]
        return common_pb2.ApplyErasureResponse(
            customer_id=request.customer_id, removed={f"{self.name}_items": 2}, erased_at=to_timestamp(at)
        )

    async def LiftErasure(self, request, context):
        self.calls.append(("lift", request.customer_id))
        lifted = self.tombstones.pop(request.customer_id, None) is not None
        return common_pb2.LiftErasureResponse(customer_id=request.customer_id, lifted=lifted)


class _Ingest(_Erasing, ingest_pb2_grpc.IngestServiceServicer):
    pass


class _Scoring(_Erasing, scoring_pb2_grpc.ScoringServiceServicer):
    pass


class _Contact(_Erasing, contact_pb2_grpc.ContactServiceServicer):
    pass


_ADD = {
    "ingest": (_Ingest, ingest_pb2_grpc.add_IngestServiceServicer_to_server),
    "scoring": (_Scoring, scoring_pb2_grpc.add_ScoringServiceServicer_to_server),
    "contact": (_Contact, contact_pb2_grpc.add_ContactServiceServicer_to_server),
}


async def _peer(name: str, port: int) -> tuple[grpc.aio.Server, _Erasing]:
    cls, add = _ADD[name]
    servicer = cls(name)
    server = grpc.aio.server()
    add(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, servicer


def _by_service(status: pb.ErasureStatus) -> dict[str, pb.ServiceErasure]:
    return {s.service: s for s in status.services}


def _accounts(log: Log, *ids: str) -> list:
    out = []
    for cid in ids:
        out += [
            log.account(cid),
            log.rec("contact", cid, {"person_id": "p1", "name": "Zhao Lei", "phone": "+8613900000001"}, NOW - DAY),
            *log.flat_bills(cid, 3, {"voice": 1000}),
        ]
    return out


@pytest.mark.integration
async def test_erasure_completes_when_a_peer_that_was_down_comes_back(tmp_path) -> None:
    ports = {name: free_port() for name in ("ingest", "scoring", "contact")}
    peers = {name: await _peer(name, port) for name, port in ports.items() if name != "contact"}
    service, db, channel, stub = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}",
        ingest_addr="",  # no log consumer: the accounts are applied directly below
        scoring_addr=f"127.0.0.1:{ports['scoring']}",
        contact_addr=f"127.0.0.1:{ports['contact']}",
        erasure_retry_seconds=0.2,
    )
    dispatcher = service.parts["erasure"]
    # The consumer is off (no ingest_addr), so tell the dispatcher where ingest is.
    dispatcher.peers = ErasurePeers({name: f"127.0.0.1:{port}" for name, port in ports.items()}, timeout=5.0)
    try:
        await db.run(service.parts["store"].apply, _accounts(Log(), "KA1", "KA2"))
        reply = await stub.EraseCustomer(pb.EraseCustomerRequest(customer_id="KA1", reason="customer request"))
        assert reply.removed["contact_records"] == 1 and reply.status.erasure_id
        first = reply.status
        assert first.trigger == "request" and not first.complete
        assert [s.service for s in first.services] == ["profile", "contact", "ingest", "scoring"]

        async def contact_failed() -> bool:
            status = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="KA1"))
            parts = _by_service(status)
            return (
                parts["ingest"].state == DONE
                and parts["scoring"].state == DONE
                and parts["contact"].state == PENDING
                and parts["contact"].attempts >= 2
            )

        await wait_until(contact_failed, timeout=20)
        status = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="KA1"))
        parts = _by_service(status)
        assert parts["contact"].last_error.startswith("UNAVAILABLE") and parts["contact"].HasField("last_attempt_at")
        assert dict(parts["ingest"].removed) == {"ingest_items": 2} and parts["ingest"].HasField("done_at")
        assert dict(parts["profile"].removed) == dict(reply.removed)

        # A repeat answers the existing erasure (never NOT_FOUND), with what profile removed then.
        again = await stub.EraseCustomer(pb.EraseCustomerRequest(customer_id="KA1", reason="again", purge_facts=True))
        assert again.status.erasure_id == first.erasure_id and dict(again.removed) == dict(reply.removed)
        assert not again.status.purge_facts
        listed = await stub.ListErasures(pb.ListErasuresRequest(incomplete_only=True))
        assert [e.customer_id for e in listed.erasures] == ["KA1"]

        # Contact comes back: the next round completes the erasure.
        peers["contact"] = await _peer("contact", ports["contact"])

        async def complete() -> bool:
            return (await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="KA1"))).complete

        await wait_until(complete, timeout=20)
        done = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="KA1"))
        assert {s.service: s.state for s in done.services} == dict.fromkeys(
            ("profile", "contact", "ingest", "scoring"), DONE
        )
        assert _by_service(done)["contact"].last_error == ""
        for _, servicer in peers.values():
            assert servicer.calls.count(("apply", "KA1")) == 1 and "KA1" in servicer.tombstones
        assert (await stub.ListErasures(pb.ListErasuresRequest(incomplete_only=True))).erasures == []

        # Paging over two erasures, one per page.
        await stub.EraseCustomer(pb.EraseCustomerRequest(customer_id="KA2", reason="customer request"))
        page1 = await stub.ListErasures(pb.ListErasuresRequest(page=common_pb2.PageRequest(page_size=1)))
        page2 = await stub.ListErasures(
            pb.ListErasuresRequest(page=common_pb2.PageRequest(page_size=1, page_token=page1.page.next_page_token))
        )
        assert [e.customer_id for e in (*page1.erasures, *page2.erasures)] == ["KA1", "KA2"]
        assert page2.page.next_page_token == ""
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListErasures(
                pb.ListErasuresRequest(
                    incomplete_only=True, page=common_pb2.PageRequest(page_token=page1.page.next_page_token)
                )
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # Reactivation: profile at once, every peer's LiftErasure by the dispatcher.
        lifted = await stub.ReactivateCustomer(pb.ReactivateCustomerRequest(customer_id="KA1", reason="new contract"))
        assert lifted.reactivated and _by_service(lifted)["profile"].state == LIFTED

        async def all_lifted() -> bool:
            status = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="KA1"))
            return status.complete and {s.state for s in status.services} == {LIFTED}

        await wait_until(all_lifted, timeout=20)
        for _, servicer in peers.values():
            assert ("lift", "KA1") in servicer.calls and "KA1" not in servicer.tombstones
        view = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="KA1"))
        assert view.account.name == ""  # reactivated: the erased personal data does not come back

        for code, call in (
            (grpc.StatusCode.NOT_FOUND, stub.EraseCustomer(pb.EraseCustomerRequest(customer_id="NOPE", reason="r"))),
            (grpc.StatusCode.NOT_FOUND, stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="NOPE"))),
            (
                grpc.StatusCode.FAILED_PRECONDITION,
                stub.ReactivateCustomer(pb.ReactivateCustomerRequest(customer_id="NOPE", reason="r")),
            ),
            (
                grpc.StatusCode.INVALID_ARGUMENT,
                stub.ReactivateCustomer(pb.ReactivateCustomerRequest(customer_id="KA1", reason=" ")),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == code

        audit = audit_pb2_grpc.AuditServiceStub(channel)
        await asyncio.sleep(1.0)  # the trail is written behind the calls
        listed_entries = (await audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest())).entries
        entries = list(reversed(listed_entries))  # the trail lists newest first
        rows = [(e.action, list(e.account_ids), e.outcome) for e in entries if e.action.startswith("customer.")]
        assert rows[:4] == [
            ("customer.erase", ["KA1"], "OK"),
            ("customer.erase", ["KA1"], "OK"),
            ("customer.erase", ["KA2"], "OK"),
            ("customer.reactivate", ["KA1"], "OK"),
        ]
        details = [e.detail for e in entries if e.action.startswith("customer.")]
        assert details[0].endswith(" new") and details[1].endswith(" repeat")
        assert not any("customer request" in d or "new contract" in d for d in details)
    finally:
        await channel.close()
        await service.stop()
        await dispatcher.peers.close()
        for server, _ in peers.values():
            await server.stop(None)
        db.dispose()


@pytest.mark.integration
async def test_retention_erases_accounts_terminated_longer_ago(tmp_path) -> None:
    port = free_port()
    server, scoring = await _peer("scoring", port)
    log = Log()
    service, db, channel, stub = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}",
        ingest_addr="",
        scoring_addr=f"127.0.0.1:{port}",
        erasure_retry_seconds=0.2,
        erase_terminated_after_days=365,
        retention_check_seconds=0.2,
    )
    try:
        now = dt.datetime.now(dt.UTC)
        records = _accounts(log, "OLD", "RECENT", "ACTIVE")
        records += [
            log.rec("lifecycle", "OLD", {"action": 1, "reason": 1}, now - 400 * DAY, srid="LC-OLD"),
            log.rec("lifecycle", "RECENT", {"action": 1, "reason": 1}, now - 30 * DAY, srid="LC-RECENT"),
        ]
        await db.run(service.parts["store"].apply, records)

        async def erased() -> bool:
            try:
                status = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="OLD"))
            except grpc.aio.AioRpcError:
                return False
            return status.complete

        await wait_until(erased, timeout=20)
        status = await stub.GetErasureStatus(pb.GetErasureStatusRequest(customer_id="OLD"))
        assert status.trigger == "retention" and [s.service for s in status.services] == ["profile", "scoring"]
        assert scoring.calls == [("apply", "OLD")]
        listed = await stub.ListErasures(pb.ListErasuresRequest())
        assert [e.customer_id for e in listed.erasures] == ["OLD"]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="OLD"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="RECENT"))
    finally:
        await channel.close()
        await service.stop()
        await server.stop(None)
        db.dispose()
