"""Settings of the profile service (environment variables prefixed TELCO360_PROFILE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.profile.domain.billing import ClosePolicy
from services.profile.domain.schema import PERSONAL_ATTRIBUTES
from telco360_runtime.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    """Profile settings."""

    model_config = SettingsConfigDict(env_prefix="TELCO360_PROFILE_", extra="ignore")

    service_name: str = "profile"
    """Name in logs, metrics and health."""

    port: int = 50052
    """gRPC port."""

    ingest_addr: str = "127.0.0.1:50051"
    """Address of ingest (ReadLog is followed from here); empty disables the consumer."""

    scoring_addr: str = ""
    """Address of scoring (latest stored scores for Customer360); empty = not used."""

    contact_addr: str = ""
    """Address of contact (recent contacts for Customer360); empty = not used."""

    peer_timeout_seconds: float = 0.3
    """Timeout of the calls Customer360 makes to scoring and contact before answering partial."""

    peer_retry_seconds: float = 5.0
    """After a peer failed, Customer360 answers partial without calling it for this long."""

    apply_batch_size: int = 2000
    """Most log entries applied in one transaction."""

    reconnect_seconds: float = 1.0
    """Wait before reconnecting to ingest after the log stream broke."""

    source_priority: dict[str, int] = Field(
        default_factory=lambda: {"crm": 100, "billing": 80, "field": 60, "survey": 40}
    )
    """Master-data precedence: higher wins per field; ties go to the latest record."""

    first_versions_known_when_occurred: bool = True
    """Point-in-time basis: a record's first version counts as known from when it occurred
    (history loaded in bulk is usable for training); corrections always count from when
    ingest stored them. False counts every version from its ingestion time."""

    install_builtin_tags: bool = True
    """Store the built-in tag pack on start (definitions already stored are left as they are)."""

    base_refresh_seconds: float = 3600.0
    """How often value tiers are re-evaluated as revenue shares across the base move."""

    share_check_seconds: float = 2.0
    """How often to check whether the revenue base moved enough (0.5 % in accounts or total
    revenue) to re-rank every account's revenue share at once (after a bulk load or catch-up)."""

    expiry_poll_seconds: float = 30.0
    """Longest sleep of the time-window scheduler (it wakes earlier at the next expiry)."""

    base_cache_seconds: float = 10.0
    """How long the base-wide revenue distribution is cached."""

    billing_close_share: float = Field(default=0.95, ge=0.0, le=1.0)
    """A billing month closes for the base once the accounts with a bill for it reach this share
    of the accounts billed the month before (0 disables this rule). Until a month is closed an
    account without its bill for it keeps the month before as its reference (no fee drop)."""

    billing_close_days: int = Field(default=10, ge=0, le=366)
    """Or once this many days have passed since the month's end (the bill runs of every region
    and cycle are done) and at least `billing_close_days_share` of those accounts have a bill."""

    billing_close_days_share: float = Field(default=0.5, ge=0.0, le=1.0)
    """The share of the base that must have a bill for the month at the deadline (a stalled
    billing feed never closes a month: the whole base would look like it stopped paying)."""

    personal_attributes: list[str] = Field(default_factory=lambda: list(PERSONAL_ATTRIBUTES))
    """Operator attributes holding personal data: masked for roles that may not see personal
    data (analysts) wherever they leave the service (Customer360, features, exports, segments)."""

    erasure_retry_seconds: float = Field(default=30.0, ge=0.0)
    """How often erasures (and reactivations) not yet applied by every service are sent again
    (each request is also sent at once); 0 sends them only right after a request."""

    erasure_call_timeout_seconds: float = Field(default=60.0, gt=0.0)
    """Timeout of one ApplyErasure / LiftErasure call to ingest, scoring or contact."""

    erase_terminated_after_days: int = Field(default=0, ge=0, le=36500)
    """Retention: accounts TERMINATED longer ago than this are erased automatically (trigger
    "retention", the same erasure across the suite as EraseCustomer); 0 = off."""

    retention_check_seconds: float = Field(default=3600.0, gt=0.0)
    """How often accounts are checked against `erase_terminated_after_days`."""

    def close_policy(self) -> ClosePolicy:
        """The billing close policy these settings describe."""
        return ClosePolicy(self.billing_close_share, self.billing_close_days, self.billing_close_days_share)
