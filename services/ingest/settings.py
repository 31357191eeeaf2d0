"""Settings of the ingest service (environment variables prefixed TELCO360_INGEST_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from telco360_runtime import bounds
from telco360_runtime.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    """Ingest settings: the shared ones plus batching, log streaming, replay limits and retention."""

    model_config = SettingsConfigDict(env_prefix="TELCO360_INGEST_", extra="ignore")

    service_name: str = "ingest"
    """Name used in logs, metrics, health and the default SQLite file (var/ingest.db)."""

    port: int = 50051
    """gRPC port; 0 picks a free port (tests)."""

    batch_max_records: int = 500
    """Most records of one IngestRecords stream committed in one transaction."""

    batch_linger_ms: float = 0.0
    """How long a stream waits for more records before committing a partial batch. 0 commits
    whatever has arrived as soon as the previous batch is done (low latency; batches still
    grow under load because records queue while a commit runs)."""

    inbox_records: int = 4000
    """Records buffered per stream ahead of the commit (back-pressure beyond that)."""

    log_page_size: int = 1000
    """Log entries read from the store per query while streaming ReadLog."""

    log_poll_seconds: float = 1.0
    """In follow mode, how often the store is polled for entries committed by other
    replicas (entries committed by this process are announced at once)."""

    replay_max_records: int = 10_000
    """Most quarantine entries one ReplayQuarantine call re-validates (and most ids it names)."""

    record_batch_max: int = 5_000
    """Most records in one RecordBatch message of IngestRecordBatches; a bigger message ends
    the stream with INVALID_ARGUMENT (field `records`) before any of its records is stored."""

    page_max_bytes: int = bounds.PAGE_MAX_BYTES
    """Encoded size a ListQuarantine page or a ReplayQuarantine answer stays within; never
    above bounds.PAGE_MAX_BYTES (clients' default 4 MiB receive limit). Tests lower it."""

    quarantine_retention_days: int = Field(default=0, ge=0)
    """Quarantine entries (resolved or not) received longer ago than this many days are
    deleted by the periodic retention round; 0 keeps them."""

    log_payload_retention_days: int = Field(default=0, ge=0)
    """Log entries ingested longer ago than this many days get their payloads' personal fields
    blanked (domain/erasure.py) by the retention round; the entries, their order and their
    facts stay. 0 keeps the payloads whole."""

    retention_interval_seconds: float = 3600.0
    """How often the retention round runs (only when a retention period is set; <= 0: never)."""
