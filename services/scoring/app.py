"""Composition root of the scoring service: store, profile client, use cases and servicer.

Champions are loaded once at start; a background task picks up promotions made by other
replicas (one cheap query every `champion_refresh_seconds`). On stop, running jobs get a
moment to finish, the profile channel and the scoring thread pool are closed.
"""

from __future__ import annotations

from services.scoring.api.access import ACCESS
from services.scoring.api.servicer import ScoringServicer
from services.scoring.domain.lifetime import LifetimeSettings
from services.scoring.peers.profile import ProfileFeatureSource
from services.scoring.settings import ScoringSettings
from services.scoring.store import ScoringStore
from services.scoring.store.models import AUDIT, JOBS
from services.scoring.usecases.context import Context, DomainConfig
from services.scoring.usecases.scoring_app import ScoringApp
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime import audit_api
from telco360_runtime.audit import AuditTrail
from telco360_runtime.clients import open_channel
from telco360_runtime.db import Database
from telco360_runtime.jobs import JobRunner, JobStore
from telco360_runtime.logs import get_logger
from telco360_runtime.server import GrpcService, Registration

SERVICE_NAME = scoring_pb2.DESCRIPTOR.services_by_name["ScoringService"].full_name


def domain_config(settings: ScoringSettings) -> DomainConfig:
    """The use cases' view of the settings."""
    return DomainConfig(
        report_dir=settings.report_dir,
        table_import_dir=settings.table_import_dir,
        dask_scheduler_address=settings.dask_scheduler_address,
        batch_reasons=settings.batch_reasons,
        reason_method=settings.reason_method,
        publish_band_changes=settings.publish_band_changes,
        scoring_threads=settings.scoring_threads,
        training_threads=settings.training_threads,
        default_churn_horizon=settings.default_churn_horizon_months,
        default_value_horizon=settings.default_value_horizon_months,
        analytics_seed=settings.analytics_seed,
        lifetime=LifetimeSettings(
            horizon_months=settings.clv_horizon_months,
            discount_rate_annual=settings.clv_discount_rate_annual,
            default_margin_rate=settings.clv_default_margin_rate,
        ),
    )


def build_service(settings: ScoringSettings, db: Database) -> GrpcService:
    """Wire the scoring service on an open, migrated database (not started)."""
    log = get_logger()
    store = ScoringStore(db)
    jobs = JobStore(db, JOBS)
    runner = JobRunner(jobs)
    channel = open_channel(
        settings.profile_addr,
        token=settings.peer_token(),
        tls=settings.peer_tls(),
        default_timeout=settings.default_peer_timeout_seconds,
        max_message_mb=settings.max_message_mb,
    )
    source = ProfileFeatureSource(
        channel,
        export_timeout=settings.profile_export_timeout_seconds,
        publish_chunk=settings.publish_chunk_size,
        publish_timeout=settings.publish_timeout_seconds,
        publish_attempts=settings.publish_attempts,
    )
    ctx = Context(store=store, source=source, runner=runner, config=domain_config(settings))
    app = ScoringApp(ctx, db.run)
    audit = AuditTrail(db, AUDIT)
    servicer = ScoringServicer(app, jobs, db.run, audit)

    async def load_champions() -> None:
        ctx.bind_loop()
        interrupted = await db.run(jobs.fail_interrupted)
        loaded = await db.run(app.load_champions)
        log.info(
            "champions_loaded",
            churn=bool(ctx.serving.current.churn),
            value=bool(ctx.serving.current.value),
            changed=loaded,
            interrupted_jobs=interrupted,
        )

    async def refresh_champions() -> None:
        if await app.refresh_champions():
            log.info("champions_refreshed")

    def stop_scoring_threads() -> None:
        if ctx.cpu is not None:
            ctx.cpu.shutdown(wait=False)

    service = GrpcService(
        settings,
        [
            Registration(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, servicer, SERVICE_NAME, ACCESS),
            audit_api.registration(audit),
        ],
        parts={"scoring_app": app, "audit": audit},  # tests and benches reach the use cases
    )
    service.add_startup(load_champions)
    service.add_startup(audit.start)
    # Promotions made by other replicas: one cheap query per round; a failed round keeps
    # serving the current champions.
    service.add_periodic("champion-refresh", settings.champion_refresh_seconds, refresh_champions)

    async def base_analytics_round() -> None:
        job_id = await app.run_base_analytics(None, False, 0)
        log.info("base_analytics_scheduled", job_id=job_id)

    # The scheduled refit of the base analytics (issue #19): once per replica set, so in the
    # leader worker only.
    service.add_periodic("base-analytics", settings.analytics_interval_s, base_analytics_round, leader_only=True)
    service.add_shutdown(lambda: runner.join_all(settings.grace_seconds))
    service.add_shutdown(lambda: channel.close(None))
    service.add_shutdown(stop_scoring_threads)
    service.add_shutdown(audit.close)
    return service
