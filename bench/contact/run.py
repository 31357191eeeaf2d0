"""Contact benchmark: ReserveContact decisions per second and GetNextBestOffer latency.

    flock /tmp/telco360-bench.lock .venv/bin/python -m bench.contact.run \
        [--seconds 5] [--accounts 2000] [--stores sqlite,postgresql] [--cprofile DIR]

(the flock keeps benchmarks on a shared machine from running at the same time). With
--cprofile DIR the contact server runs under cProfile and writes one .prof file per run
into DIR (figures are then slower: use them to find hotspots, not to report).

For each store (SQLite file; PostgreSQL: a fresh database on TELCO360_TEST_PG_URL) a real
contact process (`python -m services.contact`) is started on loopback, with stand-in
profile and scoring servers in a third process (bench/contact/peers.py). A policy with
four caps, quiet hours off (so night runs are comparable), consent required, eight offers
(two with profile eligibility expressions) and one active campaign are created; every
account has consent on record.

1. ReserveContact: workers reserve contacts for random accounts (unique idempotency keys,
   random channel); decisions per second (granted or refused: each is a full check and
   write under the account lock) at concurrency 1, 8, 32.
2. GetNextBestOffer on the inbound-call channel at concurrency 1, 8, 32: p50/p99 in ms,
   (a) with contact's peer caches at their defaults (per-account facts and scores are
   cached, so calls for an account seen in the last minute make no peer call) and (b) with
   every cache TTL at 0, so every call makes its GetCustomer360 and ScoreCustomers calls
   (concurrently) and eligibility is evaluated over the fresh facts.

Each level also reports the contact server's CPU milliseconds per call (from /proc), a
figure that a busy shared machine distorts far less than wall-clock latency.

The client runs in this process; all three processes share the machine's cores. Nothing
is asserted; figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from telco360.contact.v1 import contact_pb2 as pb
from telco360.contact.v1 import contact_pb2_grpc
from telco360_runtime.testing import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHANNELS = [pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_APP_PUSH, pb.CHANNEL_OUTBOUND_CALL]


def wait_serving(address: str, timeout: float = 60.0) -> None:
    channel = grpc.insecure_channel(address)
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                channel.close()
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{address} did not become SERVING")
        time.sleep(0.2)


def start_contact(
    db_url: str, profile: str, scoring: str, ttl_zero: bool, log: pathlib.Path, prof: pathlib.Path | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "TELCO360_CONTACT_PORT": str(port),
        "TELCO360_CONTACT_DATABASE_URL": db_url,
        "TELCO360_CONTACT_PROFILE_ADDR": profile,
        "TELCO360_CONTACT_SCORING_ADDR": scoring,
        "TELCO360_CONTACT_FOLLOW_PROFILE_EVENTS": "false",
        "TELCO360_CONTACT_LOG_LEVEL": "WARNING",
    }
    if ttl_zero:
        env.update({f"TELCO360_CONTACT_{k}_TTL_SECONDS": "0" for k in ("CONTEXT", "SCORE", "SCHEMA")})
    profiler = ["-m", "cProfile", "-o", str(prof)] if prof else []
    process = subprocess.Popen(
        [sys.executable, *profiler, "-m", "services.contact"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    wait_serving(address)
    return process, address


async def setup(stub, accounts: list[str]) -> None:
    week = pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7)
    month = pb.Window(kind=pb.WINDOW_KIND_CALENDAR, unit=pb.WINDOW_UNIT_MONTH, size=1)
    await stub.CreatePolicy(
        pb.CreatePolicyRequest(
            policy=pb.ContactPolicy(
                policy_id="bench",
                name="bench",
                active=True,
                honour_preferred_hours=True,
                fallback_time_zones=["Asia/Shanghai"],
                caps=[
                    pb.FrequencyCap(
                        cap_id="sms-7d",
                        scope=pb.CAP_SCOPE_ACCOUNT,
                        channels=[pb.CHANNEL_SMS],
                        max_contacts=3,
                        window=week,
                    ),
                    pb.FrequencyCap(cap_id="all-month", scope=pb.CAP_SCOPE_ACCOUNT, max_contacts=15, window=month),
                    pb.FrequencyCap(
                        cap_id="retention",
                        scope=pb.CAP_SCOPE_ACCOUNT,
                        purposes=[pb.PURPOSE_RETENTION],
                        max_contacts=4,
                        window=month,
                    ),
                    pb.FrequencyCap(cap_id="offer", scope=pb.CAP_SCOPE_OFFER, max_contacts=2, window=week),
                ],
                cool_downs=[
                    pb.CoolDown(
                        cool_down_id="declined",
                        triggers=[pb.OUTCOME_KIND_DECLINED],
                        scope=pb.COOL_DOWN_SCOPE_SAME_OFFER,
                        duration=week,
                    )
                ],
            )
        )
    )
    for n in range(8):
        await stub.CreateOffer(
            pb.CreateOfferRequest(
                offer=pb.Offer(
                    offer_id=f"offer-{n}",
                    name=f"Offer {n}",
                    category=[1, 2, 3, 4][n % 4],
                    value_fen=50_000 + 10_000 * n,
                    cost_fen=1_000 * n,
                    channels=[pb.CHANNEL_INBOUND_OFFER, pb.CHANNEL_SMS],
                    active=True,
                    eligibility=["", "", "tag(cloud_fit)", "", "", "tag(fee_drop_warning)", "", ""][n],
                )
            )
        )
    await stub.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=pb.Campaign(
                campaign_id="fee-drop",
                name="fee drop",
                target="tag(fee_drop_warning)",
                state=pb.CAMPAIGN_STATE_ACTIVE,
                triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED, tag="fee_drop_warning")],
                touchpoints=[pb.CHANNEL_SMS],
                offer_ids=["offer-5"],
                purpose=pb.PURPOSE_RETENTION,
            )
        )
    )
    sem = asyncio.Semaphore(32)

    async def consent(account: str) -> None:
        async with sem:
            await stub.SetConsent(
                pb.SetConsentRequest(consent=pb.Consent(customer_id=account, granted=True, source="bench"))
            )

    await asyncio.gather(*(consent(a) for a in accounts))


async def closed_loop(concurrency: int, seconds: float, call) -> tuple[int, list[float]]:
    """Run `call` in `concurrency` loops for `seconds`; returns (calls, latencies ms)."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            started = time.perf_counter()
            await call(rng)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return len(latencies), latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process (Linux /proc)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def measure(address: str, pid: int, accounts: list[str], seconds: float, do_setup: bool, reserve: bool) -> dict:
    channel = grpc.aio.insecure_channel(address)
    stub = contact_pb2_grpc.ContactServiceStub(channel)
    if do_setup:
        await setup(stub, accounts)
    figures: dict = {}

    async def reserve_call(rng: random.Random) -> None:
        await stub.ReserveContact(
            pb.ReserveContactRequest(
                idempotency_key=uuid.uuid4().hex,
                contact=pb.CheckContactRequest(
                    customer_id=rng.choice(accounts),
                    channel=rng.choice(CHANNELS),
                    purpose=rng.choice([pb.PURPOSE_MARKETING, pb.PURPOSE_RETENTION]),
                ),
            )
        )

    async def nbo_call(rng: random.Random) -> None:
        reply = await stub.GetNextBestOffer(
            pb.GetNextBestOfferRequest(
                customer_id=rng.choice(accounts),
                channel=pb.CHANNEL_INBOUND_OFFER,
                person_id="p1",
                context=pb.InteractionContext(kind=pb.INTERACTION_KIND_INBOUND_CALL, reason="bill_query"),
            )
        )
        if reply.degraded:
            figures["degraded_answers"] = figures.get("degraded_answers", 0) + 1

    for concurrency in (1, 8, 32):
        if reserve:
            await closed_loop(concurrency, 0.5, reserve_call)
            cpu = cpu_seconds(pid)
            count, lat = await closed_loop(concurrency, seconds, reserve_call)
            figures[f"reserve_c{concurrency}"] = {
                "decisions_per_s": round(count / seconds, 1),
                "p50_ms": pct(lat, 0.5),
                "p99_ms": pct(lat, 0.99),
                "server_cpu_ms_per_call": round((cpu_seconds(pid) - cpu) * 1000 / count, 2),
            }
        await closed_loop(concurrency, 0.5, nbo_call)
        cpu = cpu_seconds(pid)
        count, lat = await closed_loop(concurrency, seconds, nbo_call)
        figures[f"nbo_c{concurrency}"] = {
            "calls_per_s": round(count / seconds, 1),
            "p50_ms": pct(lat, 0.5),
            "p99_ms": pct(lat, 0.99),
            "server_cpu_ms_per_call": round((cpu_seconds(pid) - cpu) * 1000 / count, 2),
        }
    await channel.close()
    return figures


def database_url(store: str, tmp: pathlib.Path) -> tuple[str, callable]:
    if store == "sqlite":
        return f"sqlite:///{tmp / 'contact.db'}", lambda: None
    admin_url = os.environ.get("TELCO360_TEST_PG_URL")
    if not admin_url:
        raise SystemExit("PostgreSQL run needs TELCO360_TEST_PG_URL (scripts/pg_test_server.sh start)")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--cprofile",
        type=pathlib.Path,
        default=None,
        help="run the contact server under cProfile, writing .prof files here",
    )
    args = parser.parse_args()
    accounts = [f"B{n:05d}" for n in range(args.accounts)]
    profile_port, scoring_port = free_port(), free_port()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="contact-bench-"))
    peers = subprocess.Popen(
        [sys.executable, "-m", "bench.contact.peers", str(args.accounts), str(profile_port), str(scoring_port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peers.stdout is not None and peers.stdout.readline().strip() == "ready"
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "accounts": args.accounts,
        "seconds_per_level": args.seconds,
    }
    try:
        for store in args.stores.split(","):
            url, drop = database_url(store, tmp)
            try:
                for ttl_zero in (False, True):
                    key = f"{store}/{'peer_calls_every_request' if ttl_zero else 'default_caches'}"
                    prof = None
                    if args.cprofile:
                        args.cprofile.mkdir(parents=True, exist_ok=True)
                        prof = args.cprofile / f"contact-{key.replace('/', '-')}.prof"
                    process, address = start_contact(
                        url,
                        f"127.0.0.1:{profile_port}",
                        f"127.0.0.1:{scoring_port}",
                        ttl_zero,
                        tmp / f"contact-{store}-{ttl_zero}.log",
                        prof,
                    )
                    try:
                        results[key] = asyncio.run(
                            measure(address, process.pid, accounts, args.seconds, not ttl_zero, not ttl_zero)
                        )
                    finally:
                        process.terminate()
                        process.wait(30)
            finally:
                drop()
    finally:
        peers.terminate()
        peers.wait(10)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
