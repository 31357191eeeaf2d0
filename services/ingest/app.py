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


class IngestGrpcService(GrpcService):
    """The shared GrpcService, ending ReadLog follow streams first when it stops.

    Followers would otherwise hold the shutdown for the whole grace period; ending their
    streams cleanly lets consumers reconnect to another replica at once.
    """

    def __init__(self, *args: object, notifier: LogNotifier, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.notifier = notifier

    async def stop(self, grace: float | None = None) -> None:
        self.notifier.close()
        await super().stop(grace)


def build_service(settings: IngestSettings, db: Database) -> IngestGrpcService:
    """Wire the ingest service on an open, migrated database (not started)."""
    store = IngestStore(db)
    notifier = LogNotifier()
    servicer = IngestServicer(settings, db, store, notifier)

    async def announce_committed_log() -> None:
        notifier.publish(await db.run(store.last_sequence))

    return IngestGrpcService(
        settings,
        [Registration(ingest_pb2_grpc.add_IngestServiceServicer_to_server, servicer, SERVICE_NAME)],
        on_start=[announce_committed_log],
        notifier=notifier,
    )
