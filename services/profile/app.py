"""Composition root of the profile service: use cases, log follower, scheduler, peers and servicer."""

from __future__ import annotations

import asyncio

from services.profile.api.access import ACCESS
from services.profile.api.converters import render_view
from services.profile.api.servicer import ProfileServicer
from services.profile.peers.contact import Peers
from services.profile.peers.erasure import ErasurePeers
from services.profile.peers.ingest import IngestLog
from services.profile.settings import ProfileSettings
from services.profile.store.models import AUDIT, JOBS
from services.profile.usecases.erasure import ErasureDispatcher
from services.profile.usecases.follow_log import LogConsumer
from services.profile.usecases.profile import ProfileUseCases
from services.profile.usecases.scheduler import TimeScheduler
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_runtime import audit_api
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database
from telco360_runtime.jobs import JobRunner, JobStore
from telco360_runtime.server import GrpcService, Registration

SERVICE_NAME = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name


def build_service(settings: ProfileSettings, db: Database, *, clock=None) -> GrpcService:
    """Wire the profile service on an open, migrated database (not started)."""
    kwargs = {"clock": clock} if clock is not None else {}
    erasure_addrs = {"ingest": settings.ingest_addr, "scoring": settings.scoring_addr, "contact": settings.contact_addr}
    store = ProfileUseCases(
        db,
        erasure_services=sorted(name for name, addr in erasure_addrs.items() if addr),
        source_priority=settings.source_priority,
        base_ttl_seconds=settings.base_cache_seconds,
        render_view=render_view,
        close_policy=settings.close_policy(),
        **kwargs,
    )
    jobs = JobRunner(JobStore(db, JOBS))
    consumer = (
        LogConsumer(
            store,
            IngestLog(
                settings.ingest_addr,
                first_versions_known_when_occurred=settings.first_versions_known_when_occurred,
                token=settings.peer_token(),
                tls=settings.peer_tls(),
            ),
            batch_size=settings.apply_batch_size,
            reconnect_seconds=settings.reconnect_seconds,
        )
        if settings.ingest_addr
        else None
    )
    scheduler = TimeScheduler(
        store, settings.expiry_poll_seconds, settings.base_refresh_seconds, settings.share_check_seconds
    )
    peers = Peers(
        settings.scoring_addr,
        settings.contact_addr,
        settings.peer_timeout_seconds,
        settings.peer_retry_seconds,
        token=settings.peer_token(),
        tls=settings.peer_tls(),
    )
    audit = AuditTrail(db, AUDIT)
    erasure_peers = ErasurePeers(
        erasure_addrs,
        settings.erasure_call_timeout_seconds,
        token=settings.peer_token(),
        tls=settings.peer_tls(),
    )
    erasure = ErasureDispatcher(store, erasure_peers, retention_days=settings.erase_terminated_after_days, audit=audit)
    servicer = ProfileServicer(store, jobs, peers, consumer, settings.personal_attributes, audit=audit, erasure=erasure)

    async def start_followers() -> None:
        if consumer is not None:
            consumer.start()
        scheduler.start()

    async def stop_followers() -> None:
        if consumer is not None:
            await consumer.stop()
        await scheduler.stop()

    async def warm_in_background(stopping: asyncio.Event) -> None:
        # The first Customer360 and QuerySegment would otherwise load these on the caller's time.
        await db.run(store.warm_indexes)

    service = GrpcService(
        settings,
        [
            Registration(profile_pb2_grpc.add_ProfileServiceServicer_to_server, servicer, SERVICE_NAME, ACCESS),
            audit_api.registration(audit),
        ],
        parts={
            "profile": servicer,
            "consumer": consumer,
            "scheduler": scheduler,
            "store": store,
            "audit": audit,
            "erasure": erasure,
        },
    )

    def fail_interrupted_jobs() -> None:
        jobs.store.fail_interrupted()

    # Work that runs once per replica (workers.py): in the leader worker only. Reads and their
    # in-memory indexes (warmed below) are per worker and synced by change number.
    service.add_startup(fail_interrupted_jobs, leader_only=True)
    if settings.install_builtin_tags:
        service.add_startup(store.install_builtin_tags, leader_only=True)
    service.add_startup(start_followers, leader_only=True)
    service.add_startup(audit.start)
    service.add_background("profile-warm-indexes", warm_in_background)
    # Erasures the other services have not applied yet: at start (a restart resumes them), then every round.
    service.add_startup(erasure.start, leader_only=True)

    async def dispatch_erasures() -> None:
        await erasure.run_once()

    async def erase_by_retention() -> None:
        await erasure.retention_round()

    service.add_periodic("erasure-dispatch", settings.erasure_retry_seconds, dispatch_erasures, leader_only=True)
    if settings.erase_terminated_after_days > 0:
        service.add_periodic(
            "erasure-retention", settings.retention_check_seconds, erase_by_retention, leader_only=True
        )
    service.add_shutdown(stop_followers, leader_only=True)
    service.add_shutdown(erasure.stop)  # also ends rounds a call nudged in this worker
    service.add_shutdown(erasure_peers.close)
    service.add_shutdown(lambda: jobs.join_all(timeout=settings.grace_seconds))
    service.add_shutdown(audit.close)
    return service
