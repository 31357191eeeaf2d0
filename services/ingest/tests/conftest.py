"""Fixtures of the ingest tests: a real in-process ingest server on port 0, on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest

from services.ingest.app import build_service
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from telco360.ingest.v1 import ingest_pb2_grpc
from telco360_runtime.db import Database


@dataclass
class Running:
    """A started ingest server and a stub on a real channel to it."""

    address: str
    stub: ingest_pb2_grpc.IngestServiceStub
    url: str


@pytest.fixture
async def server(db_url: str) -> AsyncIterator[Running]:
    migrate_store(db_url)
    db = Database(db_url, workers=4)
    settings = IngestSettings(
        port=0, host="127.0.0.1", database_url=db_url, log_poll_seconds=0.2, log_page_size=50, batch_max_records=64
    )
    service = build_service(settings, db)
    await service.start()
    channel = grpc.aio.insecure_channel(service.address)
    try:
        yield Running(service.address, ingest_pb2_grpc.IngestServiceStub(channel), db_url)
    finally:
        await channel.close()
        await service.stop(0)
        db.dispose()
