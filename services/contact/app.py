"""Composition root of the contact service: builds peers, use cases, servicer, background work.

Background tasks (stopped before the store closes): the reservation expiry sweeper, the
history retention sweep (when `history_retention_days` is set) and the follower of
profile's account events that triggers campaigns. The SQLite group-commit
thread is a critical worker: while it is down health answers NOT_SERVING
(GrpcService.report_worker).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.contact.api.access import ACCESS
from services.contact.api.servicer import ContactServicer
from services.contact.domain.ledger import TimeBounds
from services.contact.peers.accounts import Peers
from services.contact.settings import ContactSettings
from services.contact.store.batch import GroupCommit
from services.contact.store.models import AUDIT, JOBS
from services.contact.usecases.analysis import AnalysisUseCases
from services.contact.usecases.catalogue import CatalogueUseCases
from services.contact.usecases.deps import Config, Deps
from services.contact.usecases.erasure import ErasureUseCases
from services.contact.usecases.journal import NboJournal
from services.contact.usecases.ledger import LedgerUseCases
from services.contact.usecases.offers import OfferUseCases
from telco360.contact.v1 import contact_pb2, contact_pb2_grpc
from telco360_runtime import audit_api
from telco360_runtime.audit import AuditTrail
from telco360_runtime.clients import open_channel
from telco360_runtime.db import Database
from telco360_runtime.jobs import JobRunner, JobStore
from telco360_runtime.logs import get_logger
from telco360_runtime.server import GrpcService, Registration

SERVICE_NAME = contact_pb2.DESCRIPTOR.services_by_name["ContactService"].full_name


def build_peers(settings: ContactSettings) -> Peers:
    """Channels to profile and scoring behind caches."""
    timeout, mb, token = settings.peer_timeout_seconds, settings.max_message_mb, settings.peer_token()
    tls = settings.peer_tls()
    return Peers(
        open_channel(settings.profile_addr, default_timeout=timeout, max_message_mb=mb, token=token, tls=tls),
        open_channel(settings.scoring_addr, default_timeout=timeout, max_message_mb=mb, token=token, tls=tls),
        timeout=timeout,
        retry_after=settings.peer_retry_seconds,
        context_ttl=settings.context_ttl_seconds,
        score_ttl=settings.score_ttl_seconds,
        schema_ttl=settings.schema_ttl_seconds,
        max_stale=settings.max_stale_seconds,
    )


def build_service(
    settings: ContactSettings, db: Database, clock: Callable[[], dt.datetime] | None = None
) -> GrpcService:
    """Wire the contact service on an open, migrated database (not started).

    `clock` replaces the wall clock of every decision (tests drive time with it).
    """
    log = get_logger()

    def worker_health(healthy: bool) -> None:
        # Called from the group-commit thread, which starts on the first reservation,
        # i.e. after `service` below exists.
        service.report_worker("group_commit", healthy)

    jobs = JobStore(db, JOBS)
    deps = Deps(
        db=db,
        peers=build_peers(settings),
        jobs=jobs,
        runner=JobRunner(jobs),
        journal=NboJournal(db),
        group_commit=GroupCommit(db, on_health=worker_health) if db.is_sqlite else None,
        config=Config(
            valuable_value_fen=settings.valuable_value_fen,
            simulation_direct_max_contacts=settings.simulation_direct_max_contacts,
            stats_ttl_seconds=settings.stats_ttl_seconds,
            time_bounds=TimeBounds(
                behind=dt.timedelta(seconds=settings.reserve_behind_seconds),
                ahead=dt.timedelta(seconds=settings.reserve_ahead_seconds),
                skew=dt.timedelta(seconds=settings.clock_skew_seconds),
            ),
        ),
    )
    if clock is not None:
        deps.clock = clock
    ledger = LedgerUseCases(deps)
    offers = OfferUseCases(deps)
    audit = AuditTrail(db, AUDIT)
    erasure = ErasureUseCases(deps)
    servicer = ContactServicer(CatalogueUseCases(deps), ledger, offers, AnalysisUseCases(deps), audit, erasure)

    async def expire_reservations() -> None:
        expired = await ledger.expire()
        if expired:
            log.info("reservations_expired", count=expired)

    async def purge_history() -> None:
        removed = await erasure.purge_history(settings.history_retention_days)
        if any(removed.values()):
            log.info("history_retention", retention_days=settings.history_retention_days, **removed)

    async def start_journal() -> None:
        deps.journal.start()

    def close_group_commit() -> None:
        if deps.group_commit is not None:
            deps.group_commit.close()

    service = GrpcService(
        settings,
        [
            Registration(contact_pb2_grpc.add_ContactServiceServicer_to_server, servicer, SERVICE_NAME, ACCESS),
            audit_api.registration(audit),
        ],
        parts={"deps": deps, "ledger": ledger, "offers": offers, "audit": audit, "erasure": erasure},
    )

    def fail_interrupted_jobs() -> None:
        jobs.fail_interrupted()

    # Sweeps and the account-event follower run once per replica: in the leader worker only
    # (workers.py); the catalogue and peer caches are per worker (generation-checked, TTLs).
    service.add_startup(fail_interrupted_jobs, leader_only=True)
    service.add_startup(start_journal)
    service.add_startup(audit.start)
    service.add_periodic("reservation-expiry", settings.expiry_sweep_seconds, expire_reservations, leader_only=True)
    if settings.history_retention_days > 0:
        service.add_periodic("history-retention", settings.retention_sweep_seconds, purge_history, leader_only=True)
    if settings.follow_profile_events:
        service.add_background("profile-events", offers.follow_profile_events, leader_only=True)
    service.add_shutdown(deps.journal.stop)
    service.add_shutdown(audit.close)
    service.add_shutdown(close_group_commit)
    service.add_shutdown(deps.peers.close)
    service.add_shutdown(lambda: deps.runner.join_all(timeout=settings.grace_seconds))
    return service
