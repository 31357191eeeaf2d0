"""Settings every service shares, read from environment variables by pydantic-settings.

Each service subclasses `ServiceSettings` with its own prefix, e.g. `TELCO360_INGEST_`, so
`TELCO360_INGEST_PORT=50051` sets the ingest port. Settings are built in `main()` and passed
down; nothing reads the environment at import time.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telco360_runtime.auth import ROLES


class ServiceSettings(BaseSettings):
    """Settings common to all four services (subclass to add a prefix and peers)."""

    model_config = SettingsConfigDict(env_prefix="TELCO360_", extra="ignore")

    service_name: str = "telco360"
    """Name used in logs, metrics and health (set by each service's subclass)."""

    host: str = "127.0.0.1"
    """Interface to bind; containers set 0.0.0.0."""

    port: int = 50051
    """gRPC port; 0 picks a free port (tests)."""

    metrics_port: int = 0
    """Prometheus metrics HTTP port; 0 turns the exporter off."""

    database_url: str = ""
    """SQLAlchemy URL of the service's own store; empty means `sqlite:///var/<service>.db`."""

    sqlite_synchronous: str = "FULL"
    """SQLite `synchronous` pragma: FULL survives power loss, NORMAL only process crashes."""

    db_workers: int = 8
    """Threads running blocking store calls for the async server."""

    log_level: str = "INFO"
    """Lowest log level written (DEBUG, INFO, WARNING, ERROR)."""

    grace_seconds: float = 10.0
    """On SIGTERM, how long in-flight calls may take to finish before they are cancelled."""

    default_peer_timeout_seconds: float = 5.0
    """Timeout of outgoing calls to peers when the incoming call carries no deadline."""

    auth_tokens: dict[str, str] = Field(default_factory=dict)
    """Bearer token -> role (admin, analyst, agent, service), or "role:subject" to name the
    token's holder for audit records (see auth.py). Empty disables authentication
    (development); every caller is then treated as `admin`."""

    peer_token_file: str = ""
    """File holding this service's own bearer token (a `service` grant on its peers) for every
    call it makes to them, streams included; re-read when the file changes. Empty: no token
    (peers with authentication off)."""

    def peer_token(self) -> str | Callable[[], str]:
        """The credential for outgoing peer calls (see clients.open_channel)."""
        from telco360_runtime.clients import FileToken  # clients imports grpc; settings stays light

        return FileToken(self.peer_token_file) if self.peer_token_file else ""

    @field_validator("auth_tokens")
    @classmethod
    def _known_roles_only(cls, tokens: dict[str, str]) -> dict[str, str]:
        # A typo in a role ("analist") would otherwise grant a role no check knows about.
        for token, grant in tokens.items():
            role = grant.partition(":")[0].strip()
            if not token.strip() or any(ch.isspace() for ch in token):
                raise ValueError("a bearer token must be one non-empty word")
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} in auth_tokens; roles are {', '.join(ROLES)}")
        return tokens

    max_message_mb: int = 32
    """Largest gRPC message accepted or sent, in MiB."""

    store_probe_seconds: float = 5.0
    """How often health pings the service's store (`SELECT 1`): health answers NOT_SERVING
    while a ping fails or takes longer than `store_probe_timeout_seconds`, and SERVING again,
    by itself, after the first ping that succeeds. 0 turns the probe off."""

    store_probe_timeout_seconds: float = 3.0
    """A store ping slower than this counts as the store being down."""

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite default for this service."""
        return self.database_url or f"sqlite:///var/{self.service_name}.db"
