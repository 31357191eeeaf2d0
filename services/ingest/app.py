"""Composition root of the ingest service: store, notifier, use cases and servicer on the shared server;
the periodic retention round when a retention period is set (in the leader worker only: workers.py)."""

from __future__ import annotations

from services.ingest.api.access import ACCESS
from services.ingest.api.servicer import IngestServicer
from services.ingest.settings import IngestSettings
from services.ingest.store import IngestStore
from services.ingest.store.models import AUDIT
from services.ingest.usecases.erasure import Erasures, Retention
from services.ingest.usecases.ingest_records import IngestRecords
from services.ingest.usecases.notify import LogNotifier
from services.ingest.usecases.quarantine import Quarantine
from services.ingest.usecases.read_log import ReadLog
from services.ingest.usecases.stats import IngestStats
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime import audit_api
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService, Registration

SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name


def build_service(settings: IngestSettings, db: Database) -> GrpcService:
    """Wire the ingest service on an open, migrated database (not started)."""
    store = IngestStore(db)
    notifier = LogNotifier()
    audit = AuditTrail(db, AUDIT)
    ingest = IngestRecords(db, store, notifier)
    erasures = Erasures(db, store)
    retention = Retention(
        db,
        store,
        quarantine_days=settings.quarantine_retention_days,
        log_payload_days=settings.log_payload_retention_days,
    )
    servicer = IngestServicer(
        settings,
        ingest=ingest,
        log=ReadLog(db, store, notifier, settings.log_page_size, settings.log_poll_seconds),
        quarantine=Quarantine(
            db,
            store,
            ingest,
            replay_max_records=settings.replay_max_records,
            batch_max_records=settings.batch_max_records,
        ),
        stats=IngestStats(db, store),
        audit=audit,
        erasures=erasures,
    )

    async def announce_committed_log() -> None:
        notifier.publish(await db.run(store.last_sequence))

    service = GrpcService(
        settings,
        [
            Registration(ingest_pb2_grpc.add_IngestServiceServicer_to_server, servicer, SERVICE_NAME, ACCESS),
            audit_api.registration(audit),
        ],
        parts={"store": store, "notifier": notifier, "audit": audit, "erasures": erasures, "retention": retention},
    )

    async def end_follow_streams() -> None:
        # ReadLog followers would otherwise hold the shutdown for the whole grace period;
        # ending their streams first lets consumers reconnect to another replica at once.
        notifier.close()  # on the loop: it sets an asyncio.Event

    service.add_startup(announce_committed_log)
    service.add_startup(audit.start)
    service.add_shutdown(end_follow_streams, before_drain=True)
    service.add_shutdown(audit.close)

    async def retention_round() -> None:
        await retention.run()  # logs its counts

    if retention.enabled:
        service.add_periodic("retention", settings.retention_interval_seconds, retention_round, leader_only=True)
    return service
