"""Settings of the contact service (environment variables prefixed TELCO360_CONTACT_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from telco360_runtime.settings import ServiceSettings


class ContactSettings(ServiceSettings):
    """Contact settings: the shared ones plus peers, caches and the ledger's housekeeping."""

    model_config = SettingsConfigDict(env_prefix="TELCO360_CONTACT_", extra="ignore")

    service_name: str = "contact"
    """Name used in logs, metrics, health and the default SQLite file (var/contact.db)."""

    port: int = 50054
    """gRPC port; 0 picks a free port (tests)."""

    profile_addr: str = "127.0.0.1:50052"
    """Address of the profile service (account context, features and tags, account events)."""

    scoring_addr: str = "127.0.0.1:50053"
    """Address of the scoring service (churn risk and value)."""

    peer_timeout_seconds: float = 0.25
    """Deadline of a profile/scoring call made while answering a caller; past it contact
    answers from cache or defaults, marked degraded (never blocks the call)."""

    peer_retry_seconds: float = 2.0
    """After a failed peer call, how long calls skip that peer (answering degraded at once)."""

    context_ttl_seconds: float = 60.0
    """How long an account's facts from profile (time zone, tier, persons, features, tags:
    what eligibility is evaluated over) are served fresh. An account event newer than the
    cached facts refetches them before campaigns are evaluated."""

    score_ttl_seconds: float = 300.0
    """How long a score from scoring is served fresh."""

    schema_ttl_seconds: float = 300.0
    """How long profile's feature schema (names and types that eligibility expressions are
    checked against) is served fresh."""

    max_stale_seconds: float = 3600.0
    """Cached peer data older than this is not used even when the peer is down."""

    valuable_value_fen: int = 50_000_000
    """Predicted value (fen) from which an account counts as valuable for the retention boost."""

    stats_ttl_seconds: float = 5.0
    """How long next-best-offer reuses the answers per offer and segment it read (the
    propensity evidence) before reading them again; 0 reads them on every call."""

    reserve_behind_seconds: float = 92 * 86_400
    """How far in the past a ReserveContact may be dated (`contact.at`): 92 days, enough to
    record a quarter of contacts already made (a sending system's backlog, the demo's
    history). Earlier answers INVALID_ARGUMENT on `contact.at`."""

    reserve_ahead_seconds: float = 7 * 86_400
    """How far in the future a ReserveContact may be dated (planning): 7 days. Later answers
    INVALID_ARGUMENT on `contact.at`. A planned contact counts at its moment in every window
    it falls into, and holds its slot until `hold_seconds` after that moment."""

    clock_skew_seconds: float = 300.0
    """Allowance for the clocks of callers and replicas: ConfirmContact's `delivered_at` may
    lie from the reservation's moment minus this to now plus this (5 minutes)."""

    expiry_sweep_seconds: float = 30.0
    """How often reservations past their expiry are marked EXPIRED (0 = never)."""

    history_retention_days: int = Field(default=0, ge=0)
    """Retention of contact history (issue #15): decisions, reservations and reserve requests
    recorded longer ago than this many days are deleted by a periodic sweep (counts logged);
    0 keeps them. Aggregates (campaign spend, answers per offer and segment) and outcomes are
    kept. Choose it longer than the longest frequency-cap window of any policy: a deleted
    reservation no longer counts against a cap."""

    retention_sweep_seconds: float = Field(default=3600.0, gt=0)
    """How often the history retention sweep runs when `history_retention_days` is set."""

    follow_profile_events: bool = True
    """Whether to follow profile's WatchAccountEvents stream to trigger campaigns."""

    simulation_direct_max_contacts: int = 20_000
    """SimulatePolicy answers directly when the period holds at most this many contacts."""
