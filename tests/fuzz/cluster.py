"""The four services wired together in-process (SQLite, or PostgreSQL), for the fuzz tests.

The servers run on an event loop of their own in a background thread, so the fuzz test
can drive them from plain synchronous code (Hypothesis, blocking gRPC clients with real
deadlines) exactly as an outside client would. Peers are real: profile follows ingest's
log, scoring reads profile, contact asks profile and scoring. A small seeded base from
telco360_datagen gives the known-good checks real accounts to answer about.

`Cluster.rebuild()` throws the whole cluster away and starts a fresh one on new databases:
the fuzz test calls it after an input left a service broken, so that one finding does not
turn every later case of that service into a failure too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.contact.app import build_service as build_contact
from services.contact.settings import ContactSettings
from services.contact.store.paths import MIGRATIONS_DIR as CONTACT_MIGRATIONS
from services.ingest.app import build_service as build_ingest
from services.ingest.settings import IngestSettings
from services.ingest.store import MIGRATIONS_DIR as INGEST_MIGRATIONS
from services.profile.app import build_service as build_profile
from services.profile.settings import ProfileSettings
from services.profile.store import MIGRATIONS_DIR as PROFILE_MIGRATIONS
from services.scoring.app import build_service as build_scoring
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR as SCORING_MIGRATIONS
from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import generate
from telco360_runtime.bootstrap import open_store
from telco360_runtime.db import normalise_url
from telco360_runtime.server import GrpcService
from telco360_runtime.testing import free_port

#: Full gRPC service names, by short service name.
SERVICE_NAMES = {
    "ingest": "telco360.ingest.v1.IngestService",
    "profile": "telco360.profile.v1.ProfileService",
    "scoring": "telco360.scoring.v1.ScoringService",
    "contact": "telco360.contact.v1.ContactService",
}

#: Store backend: "sqlite" (default; files in the tmp folder) or "postgresql" (fresh databases on
#: the server named by TELCO360_TEST_PG_URL, dropped when the cluster is rebuilt or closed).
BACKEND_ENV = "TELCO360_FUZZ_DB"
PG_ENV = "TELCO360_TEST_PG_URL"

#: The seeded base: small enough to load in seconds, large enough for every record kind.
SEED_ACCOUNTS = 6
SEED_MONTHS = 4
SEED = 12

#: Clients get the default 4 MiB receive limit every gRPC language uses: an answer above it
#: is a failure the way a real client sees it.
CLIENT_OPTIONS = [
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


@dataclasses.dataclass
class Node:
    """One running service: the server and its open store."""

    name: str
    service: GrpcService
    db: Any

    @property
    def address(self) -> str:
        """host:port the service listens on."""
        return self.service.address


class Cluster:
    """Ingest, profile, scoring and contact on SQLite in `root` (or PostgreSQL), served from a background loop."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.generation = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-cluster", daemon=True)
        self.thread.start()
        self.nodes: dict[str, Node] = {}
        self.backend = os.environ.get(BACKEND_ENV, "sqlite")
        self.pg_databases: list[str] = []
        self.channels: dict[str, grpc.Channel] = {}
        self.customer_ids: list[str] = []
        self.model_id = ""
        """The seeded churn model (trained from a small table when the cluster is seeded)."""
        self.known: dict[str, list[str]] = {}
        """Ids the services answered so far, by field name (for later requests to reuse)."""
        self.last_replies: list = []
        """The previous call's answers (a corpus case's next step may refer to them)."""

    # --- running coroutines on the cluster's loop -----------------------------------------
    def call(self, fn: Callable[[], Awaitable[Any]], timeout: float = 120.0) -> Any:
        """Run a coroutine factory on the servers' loop and wait for its result."""
        future: Future = asyncio.run_coroutine_threadsafe(fn(), self.loop)
        return future.result(timeout)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the four services on fresh databases and load the seeded base."""
        self.generation += 1
        folder = self.root / f"gen{self.generation}"
        folder.mkdir(parents=True, exist_ok=True)
        self.call(lambda: self._start(folder), timeout=300)
        self.channels = {
            name: grpc.insecure_channel(node.address, options=CLIENT_OPTIONS) for name, node in self.nodes.items()
        }

    async def _start(self, folder: pathlib.Path) -> None:
        def url(name: str) -> str:
            if self.backend == "postgresql":
                return self._pg_database(name)
            return f"sqlite:///{folder / (name + '.db')}"

        profile_port = free_port()
        profile_addr = f"127.0.0.1:{profile_port}"
        ingest = await self._node(
            "ingest",
            IngestSettings(port=0, host="127.0.0.1", database_url=url("ingest"), log_poll_seconds=0.1, grace_seconds=1),
            INGEST_MIGRATIONS,
            build_ingest,
        )
        scoring = await self._node(
            "scoring",
            ScoringSettings(
                port=0,
                host="127.0.0.1",
                database_url=url("scoring"),
                profile_addr=profile_addr,
                report_dir=str(folder / "reports"),
                scoring_threads=1,
                grace_seconds=1,
                profile_export_timeout_seconds=30,
            ),
            SCORING_MIGRATIONS,
            build_scoring,
        )
        contact = await self._node(
            "contact",
            ContactSettings(
                port=0,
                host="127.0.0.1",
                database_url=url("contact"),
                profile_addr=profile_addr,
                scoring_addr=scoring.address,
                peer_timeout_seconds=2.0,
                grace_seconds=1,
            ),
            CONTACT_MIGRATIONS,
            build_contact,
        )
        await self._node(
            "profile",
            ProfileSettings(
                port=profile_port,
                host="127.0.0.1",
                database_url=url("profile"),
                ingest_addr=ingest.address,
                scoring_addr=scoring.address,
                contact_addr=contact.address,
                reconnect_seconds=0.2,
                grace_seconds=1,
            ),
            PROFILE_MIGRATIONS,
            build_profile,
        )

    async def _node(self, name: str, settings: Any, migrations: pathlib.Path, build: Callable) -> Node:
        db = await asyncio.to_thread(open_store, settings, migrations)
        service = build(settings, db)
        await service.start()
        node = Node(name, service, db)
        self.nodes[name] = node
        return node

    def stop(self) -> None:
        """Stop every service and close the stores (the loop keeps running for a rebuild)."""
        for channel in self.channels.values():
            channel.close()
        self.channels = {}
        nodes, self.nodes = self.nodes, {}

        async def _stop() -> None:
            for node in reversed(list(nodes.values())):
                try:
                    await asyncio.wait_for(node.service.stop(0.5), 30)
                except Exception:  # noqa: BLE001 - a wedged service must not keep the next from starting
                    pass
                await asyncio.to_thread(node.db.dispose)

        if nodes:
            try:
                self.call(_stop, timeout=90)
            except Exception:  # noqa: BLE001 - best effort; the databases are thrown away anyway
                pass
        self._drop_pg_databases()

    def _pg_database(self, name: str) -> str:
        """A fresh PostgreSQL database for one service."""
        admin_url = os.environ.get(PG_ENV)
        if not admin_url:
            raise RuntimeError(f"{BACKEND_ENV}=postgresql needs {PG_ENV}")
        admin_url = normalise_url(admin_url)
        database = f"fuzz_{name}_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        engine.dispose()
        self.pg_databases.append(database)
        return sa.engine.make_url(admin_url).set(database=database).render_as_string(hide_password=False)

    def _drop_pg_databases(self) -> None:
        admin_url = os.environ.get(PG_ENV)
        if not self.pg_databases or not admin_url:
            return
        engine = sa.create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for database in self.pg_databases:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()
        self.pg_databases = []

    def rebuild(self, seed: Callable[[Cluster], None]) -> None:
        """A fresh cluster on new databases, seeded again."""
        self.stop()
        self.start()
        seed(self)

    def close(self) -> None:
        """Stop the services and the loop."""
        self.stop()

        async def _cancel_leftovers() -> None:
            # Background tasks of stopped services (queue readers, pollers) end here, not at exit.
            current = asyncio.current_task()
            leftovers = [task for task in asyncio.all_tasks() if task is not current]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)

        try:
            self.call(_cancel_leftovers, timeout=30)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # --- health -----------------------------------------------------------------------------
    def serving(self, name: str, timeout: float = 5.0) -> str:
        """The health status name of a service ("SERVING", ...) or the error code name."""
        stub = health_pb2_grpc.HealthStub(self.channels[name])
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAMES[name]), timeout=timeout)
        except grpc.RpcError as error:
            return error.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
        """Poll `predicate` until it holds or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(step)


def seed_records() -> list[ingest_pb2.Record]:
    """The seeded base's records (deterministic)."""
    return list(generate(SEED_ACCOUNTS, SEED_MONTHS, seed=SEED).records())
