"""A deadline storm never harms contact's shared workers (issue 12, item 1).

Many concurrent ReserveContact calls with deadlines of a few milliseconds, and calls the
client cancels, are mixed with ordinary calls for the same accounts, against a real
server on SQLite (group-commit thread) and PostgreSQL (store thread pool). Afterwards an
ordinary ReserveContact is granted, health says SERVING, and nothing granted was lost.
The shared peer fetch is covered too: ordinary calls that share a profile fetch with a
1 ms caller get an answer that is not degraded.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.contact.app import SERVICE_NAME
from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.testing import wait_until

ROUNDS, ACCOUNTS_PER_ROUND = 3, 4
TINY = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def policy() -> pb.ContactPolicy:
    return pb.ContactPolicy(
        policy_id="storm",
        name="storm",
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[pb.CHANNEL_SMS],
                max_contacts=500,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            )
        ],
        purpose_classes=[pb.PurposeClass(purpose=pb.PURPOSE_MARKETING, requires_consent=False)],
    )


def reserve(key: str, account: str) -> pb.ReserveContactRequest:
    return pb.ReserveContactRequest(
        idempotency_key=key,
        contact=pb.CheckContactRequest(customer_id=account, channel=pb.CHANNEL_SMS, purpose=pb.PURPOSE_MARKETING),
    )


async def _contact_env(db_url: str):
    profile, profile_server, _, scoring_server = await start_peers()
    accounts = [f"S{r}x{a}" for r in range(ROUNDS + 1) for a in range(ACCOUNTS_PER_ROUND)]
    for account in accounts:
        profile.accounts[account] = AccountFacts()
    # A long peer deadline: a shared fetch is then only cut short if a caller's deadline leaks into it.
    node = await start_contact(
        db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}", peer_timeout_seconds=5.0
    )
    yield node
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


@pytest.fixture
async def env(db_url):
    """Contact with its peers on each store (SQLite and PostgreSQL)."""
    async for node in _contact_env(db_url):
        yield node


@pytest.fixture
async def sqlite_env(tmp_path):
    """Contact on SQLite, the only store whose writes go through the group-commit worker."""
    async for node in _contact_env(f"sqlite:///{tmp_path}/contact.db"):
        yield node


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def serving(node) -> bool:
    health = health_pb2_grpc.HealthStub(node.channel)
    for name in ("", SERVICE_NAME):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            return False
    return True


async def test_deadline_storm_then_reserve_works_and_health_serving(env):
    node = env
    await node.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()))
    rng = random.Random(12)
    granted: dict[str, str] = {}

    async def tiny(key: str, account: str) -> None:
        try:
            await node.stub.ReserveContact(reserve(key, account), timeout=rng.choice(TINY))
        except grpc.aio.AioRpcError as error:
            assert error.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED), error

    async def cancelled(key: str, account: str) -> None:
        call = node.stub.ReserveContact(reserve(key, account), timeout=30)
        await asyncio.sleep(rng.choice((0, 0.001, 0.005, 0.02)))
        call.cancel()
        try:
            await call  # answered already when the cancel came too late: fine either way
        except asyncio.CancelledError:
            pass

    async def ordinary(key: str, account: str) -> None:
        reply = await node.stub.ReserveContact(reserve(key, account), timeout=30)
        assert reply.granted, reply.decision
        assert not reply.decision.degraded, reply.decision.degraded_reasons
        granted[key] = reply.reservation.reservation_id

    for round_ in range(ROUNDS):
        # First storm on accounts contact has not seen: the 1 ms callers go first, so they
        # start the shared profile fetch. Second storm on the same accounts, now cached:
        # the short calls reach the store (on SQLite, the group-commit queue) at once.
        for storm in ("cold", "warm"):
            for a in range(ACCOUNTS_PER_ROUND):
                account = f"S{round_}x{a}"
                await asyncio.gather(
                    *(tiny(f"{account}-{storm}t{n}", account) for n in range(12)),
                    *(cancelled(f"{account}-{storm}c{n}", account) for n in range(6)),
                    *(ordinary(f"{account}-{storm}o{n}", account) for n in range(3)),
                )

    after = await node.stub.ReserveContact(reserve("after-storm", f"S{ROUNDS}x0"), timeout=30)
    assert after.granted
    assert await serving(node)
    # Every granted answer is in the ledger (nothing answered was rolled back).
    for key, reservation_id in granted.items():
        account = key.rsplit("-", 1)[0]
        ledger = await node.stub.ListLedger(pb.ListLedgerRequest(customer_id=account), timeout=30)
        assert reservation_id in {e.entry_id for e in ledger.entries}


async def test_critical_worker_down_turns_health_not_serving(sqlite_env):
    """The worker's health reports (from its own thread) drive the service's health."""
    node = sqlite_env
    group_commit = node.service.registrations[0].servicer.ledger.deps.group_commit
    assert group_commit is not None
    report = group_commit.on_health
    thread = threading.Thread(target=report, args=(False,))
    thread.start()
    thread.join()
    await wait_until(lambda: _not(serving(node)), timeout=5, message="health stayed SERVING")
    thread = threading.Thread(target=report, args=(True,))
    thread.start()
    thread.join()
    await wait_until(lambda: serving(node), timeout=5, message="health did not turn SERVING again")
    assert (await node.stub.ReserveContact(reserve("k", "S0x0"), timeout=30)).granted
