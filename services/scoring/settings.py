"""Settings of the scoring service (environment variables prefixed TELCO360_SCORING_)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from telco360_runtime.settings import ServiceSettings


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; the whole machine where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ScoringSettings(ServiceSettings):
    """Scoring settings: the shared ones plus the profile peer, reports, Dask and serving."""

    model_config = SettingsConfigDict(env_prefix="TELCO360_SCORING_", extra="ignore")

    service_name: str = "scoring"
    """Name used in logs, metrics, health and the default SQLite file (var/scoring.db)."""

    port: int = 50053
    """gRPC port; 0 picks a free port (tests)."""

    profile_addr: str = "127.0.0.1:50052"
    """Address of the profile service (features, label facts, score publication);
    `dns:///profile:50051` balances over replicas."""

    profile_export_timeout_seconds: float = 900.0
    """Deadline of one ExportFeatures/ExportOutcomes stream (training sets, batch scoring)."""

    report_dir: str = "var/reports"
    """Where GetReport writes HTML evaluation reports."""

    table_import_dir: str = ""
    """The one folder TrainFromTable may read server-side tables from (a `path` is resolved
    inside it; `..`, absolute paths and links leading out are refused). Empty: server paths
    are refused and tables come as uploaded content only."""

    dask_scheduler_address: str = ""
    """Dask scheduler (e.g. `tcp://dask-scheduler:8786`); when set, training runs on that
    cluster with LightGBM's Dask estimators. Empty trains in-process."""

    batch_reasons: int = 3
    """Reasons stored per account by ScoreAll (and published to profile)."""

    reason_method: Literal["path", "shap"] = "path"
    """How reasons are computed: "path" credits each split on the account's decision paths
    with its change in expected score (tabulated per model, ~50x cheaper); "shap" uses
    LightGBM's exact TreeSHAP (pred_contrib; ~0.5 ms per account and model)."""

    publish_band_changes: bool = True
    """Whether ScoreAll tells profile about accounts whose risk band changed."""

    publish_chunk_size: int = 500
    """Band changes per RecordScores call (at most 1000): small enough that one call stays
    well inside its deadline on a busy profile."""

    publish_timeout_seconds: float = 30.0
    """Deadline of one RecordScores call."""

    publish_attempts: int = 4
    """Tries per RecordScores chunk when profile times out or is unavailable (backoff
    0.5 s, 1 s, 2 s ...); RecordScores is idempotent, so a retry is safe."""

    scoring_threads: int = 4
    """Threads running model prediction off the event loop (LightGBM releases the GIL)."""

    training_threads: int = Field(default_factory=usable_cpus, ge=1, le=256)
    """OpenMP threads of one training fit (LightGBM `num_threads` when a request leaves it at
    0). Default: every CPU this process may use (`len(os.sched_getaffinity(0))`, nothing held
    back). Fits run on job threads, never on the event loop, and one at a time: a second
    training job queues until the first one's fits are done, so two jobs never
    oversubscribe the cores. Prediction keeps its own `scoring_threads`."""

    champion_refresh_seconds: float = 5.0
    """How often a replica checks the store for champions promoted by another replica;
    0 turns the check off (single replica)."""

    default_churn_horizon_months: int = 3
    """Churn label horizon when TrainModel leaves horizon_months at 0."""

    default_value_horizon_months: int = 12
    """Value target horizon when TrainModel leaves horizon_months at 0."""

    analytics_interval_s: float = Field(default=0.0, ge=0.0)
    """How often the base analytics run (RFM, clusters, outliers, lifetime value) is refitted
    over the whole base without rescoring (RunBaseAnalytics), in the leader worker only;
    0 (default) turns the schedule off (ScoreAll and RunBaseAnalytics still run it)."""

    clv_horizon_months: int = Field(default=36, ge=1, le=240)
    """Horizon of customer lifetime value, months (domain/lifetime.py)."""

    clv_discount_rate_annual: float = Field(default=0.08, ge=0.0, le=1.0)
    """Annual discount rate of lifetime value (0.08 = 8 % a year)."""

    clv_default_margin_rate: float = Field(default=0.35, ge=-1.0, le=1.0)
    """Margin over revenue assumed for accounts without cost records (profile's
    `margin_rate_3m` is used when the account has one); named in the reasons as assumed."""

    analytics_seed: int = Field(default=0, ge=0, le=2**31 - 1)
    """Seed of k-means (and its silhouette sample) and of the outlier detector: a fixed seed
    on the same base gives the same clusters."""
