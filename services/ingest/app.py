"""Composition root of the ingest service: store, notifier and servicer on the shared server."""

from __future__ import annotations

from services.ingest.handlers import IngestServicer
from services.ingest.notify import LogNotifier
from services.ingest.settings import IngestSettings
from services.ingest.store import IngestStore
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService, Registration

SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name


def build_service(settings: IngestSettings, db: Database) -> GrpcService:
    """Wire the ingest service on an open, migrated database (not started)."""
    store = IngestStore(db)
    notifier = LogNotifier()
    servicer = IngestServicer(settings, db, store, notifier)

    async def announce_committed_log() -> None:
        notifier.publish(await db.run(store.last_sequence))

    service = GrpcService(
        settings,
        [Registration(ingest_pb2_grpc.add_IngestServiceServicer_to_server, servicer, SERVICE_NAME)],
        parts={"store": store, "notifier": notifier},
    )

    async def end_follow_streams() -> None:
        # ReadLog followers would otherwise hold the shutdown for the whole grace period;
        # ending their streams first lets consumers reconnect to another replica at once.
        notifier.close()  # on the loop: it sets an asyncio.Event

    service.add_startup(announce_committed_log)
    service.add_shutdown(end_follow_streams, before_drain=True)
    return service
