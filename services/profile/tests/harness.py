"""Real in-process servers for profile's integration tests: ingest (fed with generated data) and profile."""

from __future__ import annotations

import asyncio

import grpc

from services.ingest.app import build_service as build_ingest
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from services.profile.app import build_service as build_profile
from services.profile.settings import ProfileSettings
from services.profile.store import MIGRATIONS_DIR
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_datagen import generate
from telco360_runtime.db import Database, migrate


async def start_ingest_unstarted(url: str, **overrides):
    """An ingest server on port 0 (migrated, not yet started) and its database."""
    migrate_store(url)
    db = Database(url, workers=4)
    settings = IngestSettings(port=0, host="127.0.0.1", database_url=url, log_poll_seconds=0.1, **overrides)
    service = build_ingest(settings, db)
    return service, db


async def start_ingest(url: str, **overrides):
    """An ingest server on port 0 and its database."""
    service, db = await start_ingest_unstarted(url, **overrides)
    await service.start()
    return service, db


async def feed(address: str, accounts: int, months: int, seed: int = 7, token: str = "") -> int:
    """Submit generated records to ingest (with a bearer token when given); returns the number accepted."""
    records = list(generate(accounts, months, seed=seed).records())
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    async with grpc.aio.insecure_channel(address) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        results = [r async for r in stub.IngestRecords(iter(records), metadata=metadata)]
    return sum(
        1 for r in results if r.status in (ingest_pb2.RECORD_STATUS_ACCEPTED, ingest_pb2.RECORD_STATUS_CORRECTED)
    )


async def start_profile(url: str, **overrides):
    """A profile server on port 0 (migrated), its database and a stub."""
    migrate(url, MIGRATIONS_DIR)
    db = Database(url, workers=4)
    settings = ProfileSettings(
        port=0, host="127.0.0.1", database_url=url, reconnect_seconds=0.2, expiry_poll_seconds=0.5, **overrides
    )
    service = build_profile(settings, db)
    await service.start()
    channel = grpc.aio.insecure_channel(service.address)
    return service, db, channel, profile_pb2_grpc.ProfileServiceStub(channel)


async def wait_applied(stub, sequence: int, timeout: float = 120.0) -> profile_pb2.SyncStatus:
    """Wait until profile applied the log up to `sequence`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = await stub.GetSyncStatus(profile_pb2.GetSyncStatusRequest())
        if status.applied_sequence >= sequence:
            return status
        if loop.time() > deadline:
            raise TimeoutError(f"applied {status.applied_sequence} of {sequence}")
        await asyncio.sleep(0.1)
