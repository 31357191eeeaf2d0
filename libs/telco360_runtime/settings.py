"""Settings every service shares, read from environment variables by pydantic-settings.

Each service subclasses `ServiceSettings` with its own prefix, e.g. `TELCO360_INGEST_`, so
`TELCO360_INGEST_PORT=50051` sets the ingest port. Settings are built in `main()` and passed
down; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telco360_runtime.auth import ROLES, Authenticator, authenticator_for

MAX_WORKERS = 256
"""Upper bound of `ServiceSettings.workers` (a typo such as 80000 fails at start, not by exhaustion)."""


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


if TYPE_CHECKING:
    from telco360_runtime.tls import ChannelTls


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

    workers: int = 0
    """Worker processes serving the one gRPC port (SO_REUSEPORT; bootstrap.run, workers.py).
    0: the CPUs this process may run on (`os.sched_getaffinity`) on PostgreSQL, one on SQLite
    (see `resolved_workers`); 1: a single process, as before. At most `MAX_WORKERS`."""

    @field_validator("workers")
    @classmethod
    def _workers_in_range(cls, workers: int) -> int:
        if not 0 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be between 0 (the CPUs available) and {MAX_WORKERS}, got {workers}")
        return workers

    def resolved_workers(self) -> int:
        """How many worker processes serve: `workers`, or for 0 the CPUs available; 0 on an
        SQLite store means one (SQLite has one writer at a time; see docs/DEPLOYMENT.md)."""
        if self.workers:
            return self.workers
        if self.resolved_database_url().startswith("sqlite"):
            return 1
        return min(available_cpus(), MAX_WORKERS)

    log_level: str = "INFO"
    """Lowest log level written (DEBUG, INFO, WARNING, ERROR)."""

    grace_seconds: float = 10.0
    """On SIGTERM, how long in-flight calls may take to finish before they are cancelled."""

    default_peer_timeout_seconds: float = 5.0
    """Timeout of outgoing calls to peers when the incoming call carries no deadline."""

    auth_mode: Literal["", "off", "static", "jwt"] = ""
    """How callers are authenticated (auth.py): "jwt" (signed tokens; production), "static"
    (the opaque `auth_tokens`; development only), "off" (every caller is admin). Empty: "jwt"
    when `jwt_keys_file` is set, else "static" when `auth_tokens` is, else "off"."""

    jwt_keys_file: str = ""
    """PEM public key(s) or a JWKS document trusted to sign callers' JWTs; re-read when the
    file changes (key rotation without restart)."""

    jwt_issuer: str = "telco360"
    """The `iss` every accepted JWT must carry."""

    jwt_audience: str = ""
    """The `aud` a JWT must include to be accepted here; empty: the service's name."""

    jwt_leeway_seconds: float = 30.0
    """Clock skew tolerated on `exp` / `nbf`."""

    auth_tokens: dict[str, str] = Field(default_factory=dict)
    """Static development tokens: bearer token -> "role", "role:subject" (names the holder in
    audit records) or "account_manager:<id>:<team ids>" (see auth.py)."""

    def resolved_auth_mode(self) -> str:
        """The authentication mode in force (see `auth_mode`)."""
        if self.auth_mode:
            return self.auth_mode
        return "jwt" if self.jwt_keys_file else ("static" if self.auth_tokens else "off")

    def authenticator(self) -> Authenticator:
        """The authenticator for this service's calls (reads the JWT keys file now)."""
        return authenticator_for(
            self.resolved_auth_mode(),
            tokens=self.auth_tokens,
            keys_file=self.jwt_keys_file,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience or self.service_name,
            leeway_s=self.jwt_leeway_seconds,
        )

    @model_validator(mode="after")
    def _auth_mode_is_complete(self) -> ServiceSettings:
        mode = self.resolved_auth_mode()
        if mode == "jwt" and not self.jwt_keys_file:
            raise ValueError("auth_mode 'jwt' needs jwt_keys_file")
        if mode == "static" and not self.auth_tokens:
            raise ValueError("auth_mode 'static' needs auth_tokens")
        return self

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

    tls_cert_file: str = ""
    """PEM certificate (chain) of this service's server, also its client certificate towards its
    peers (mutual TLS); re-read when it changes. Empty (with `tls_key_file`): plaintext."""

    tls_key_file: str = ""
    """PEM private key of `tls_cert_file`."""

    tls_ca_file: str = ""
    """PEM CA certificate(s) that sign the peers' server certificates and, with
    `tls_client_auth`, the callers' client certificates. Set: peer channels use TLS."""

    tls_client_auth: bool = False
    """Require and verify a client certificate signed by `tls_ca_file` on every connection."""

    @model_validator(mode="after")
    def _tls_is_complete(self) -> ServiceSettings:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together: set both or neither")
        if self.tls_client_auth and not (self.tls_ca_file and self.tls_cert_file):
            raise ValueError("tls_client_auth needs tls_ca_file (and the server's tls_cert_file / tls_key_file)")
        return self

    def peer_tls(self) -> ChannelTls | None:
        """TLS for outgoing peer channels (see clients.open_channel): the CA, and this service's
        certificate as its client certificate; None (plaintext) without `tls_ca_file`."""
        from telco360_runtime.tls import ChannelTls  # tls imports grpc; settings stays light

        if not self.tls_ca_file:
            return None
        return ChannelTls(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)

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
