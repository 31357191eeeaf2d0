"""Where the services are and how to authenticate: options, environment, `services up` state.

Addresses resolve, first match wins: the `--<svc>-addr` option, the environment variable
`TELCO360_CLI_<SVC>_ADDR`, the state file `services up` wrote under the var directory, and
finally `127.0.0.1:<default port>` (ingest 50051, profile 50052, scoring 50053, contact 50054).
The bearer token comes, first match wins, from `--token-file` / `TELCO360_CLI_TOKEN_FILE` (a
file holding the token: it stays out of argv and shell history, and a rotated token is picked
up by the next command), `TELCO360_CLI_TOKEN`, or `--token` (visible to every local user in
the process list: for throwaway development tokens only). Empty: no token, which is what a
local suite without `auth_tokens` expects.
TLS: `--tls-ca` / `TELCO360_CLI_TLS_CA` (the CA that signs the services' certificates) turns
TLS on; `--tls-cert` / `--tls-key` (`TELCO360_CLI_TLS_CERT` / `_KEY`) add the client
certificate services with `tls_client_auth` require (mutual TLS). Options win over the
environment; without a CA the channels are plaintext.
A local suite started secure (`telco360 demo`, `services up`) records its development PKI in
its state file: commands against it (`--var-dir`) then use that PKI's CA, the CLI's client
certificate and the admin token unless TLS options or a token are given.
"""

from __future__ import annotations

import json
import os
import pathlib
from dataclasses import dataclass, field

from telco360_cli.errors import CliError
from telco360_runtime.devpki import CLIENT_NAME, Pki
from telco360_runtime.tls import ChannelTls

SERVICES: tuple[str, ...] = ("ingest", "profile", "scoring", "contact")
DEFAULT_PORTS: dict[str, int] = {"ingest": 50051, "profile": 50052, "scoring": 50053, "contact": 50054}
STATE_FILE = "suite.json"


def default_var_dir() -> pathlib.Path:
    """The var directory `services up` uses by default (`TELCO360_CLI_VAR_DIR` or ./var)."""
    return pathlib.Path(os.environ.get("TELCO360_CLI_VAR_DIR", "var"))


def read_state_pki(var_dir: pathlib.Path) -> Pki | None:
    """The development PKI a local suite under `var_dir` was started with (demo, `services up`), or None."""
    try:
        root = json.loads((var_dir / "run" / STATE_FILE).read_text()).get("pki", "")
    except (OSError, ValueError, AttributeError):
        return None
    return Pki(pathlib.Path(root)) if root else None


def read_state(var_dir: pathlib.Path) -> dict[str, dict]:
    """The per-service state (`pid`, `port`, `log`) written by `services up`, or {}."""
    path = var_dir / "run" / STATE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text()).get("services", {})
    except (OSError, ValueError):
        return {}


@dataclass
class CliConfig:
    """Resolved connection settings for one CLI invocation."""

    addresses: dict[str, str] = field(default_factory=dict)
    token: str = ""
    timeout: float = 30.0
    tls: ChannelTls | None = None

    def address(self, service: str) -> str:
        """host:port of a service."""
        return self.addresses[service]


def read_token_file(path: pathlib.Path) -> str:
    """The token a token file holds (surrounding whitespace removed); CliError when unreadable or empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or 'not text'}") from exc
    if not token or any(ch.isspace() for ch in token):
        raise CliError(f"the token file {path} must hold exactly one token")
    return token


def resolve_token(token: str | None, token_file: pathlib.Path | None) -> str:
    """The bearer token: token file (option or env), then TELCO360_CLI_TOKEN, then --token."""
    if token_file is not None and token is not None:
        raise CliError("give --token or --token-file, not both")
    file_name = token_file or os.environ.get("TELCO360_CLI_TOKEN_FILE")
    if file_name:
        return read_token_file(pathlib.Path(file_name))
    if token is not None:
        return token
    return os.environ.get("TELCO360_CLI_TOKEN", "")


def resolve_tls(
    ca: pathlib.Path | None = None, cert: pathlib.Path | None = None, key: pathlib.Path | None = None
) -> ChannelTls | None:
    """TLS for the channels from options, then TELCO360_CLI_TLS_CA / _CERT / _KEY; None: plaintext."""
    ca_file = str(ca or os.environ.get("TELCO360_CLI_TLS_CA", ""))
    cert_file = str(cert or os.environ.get("TELCO360_CLI_TLS_CERT", ""))
    key_file = str(key or os.environ.get("TELCO360_CLI_TLS_KEY", ""))
    if bool(cert_file) != bool(key_file):
        raise CliError("give the client certificate and its key together (--tls-cert and --tls-key)")
    if not ca_file:
        if cert_file:
            raise CliError("a client certificate needs --tls-ca (the CA that signs the services' certificates)")
        return None
    for what, path in (("--tls-ca", ca_file), ("--tls-cert", cert_file), ("--tls-key", key_file)):
        if path and not os.access(path, os.R_OK):
            raise CliError(f"{what} {path}: the file cannot be read")
    return ChannelTls(ca_file, cert_file, key_file)


def resolve(
    overrides: dict[str, str | None] | None = None,
    token: str | None = None,
    var_dir: pathlib.Path | None = None,
    timeout: float = 30.0,
    token_file: pathlib.Path | None = None,
    tls: ChannelTls | None = None,
) -> CliConfig:
    """Build the configuration from options (overrides), environment and local state."""
    overrides = overrides or {}
    state = read_state(var_dir or default_var_dir())
    local_pki = read_state_pki(var_dir or default_var_dir())
    addresses: dict[str, str] = {}
    for name in SERVICES:
        env = os.environ.get(f"TELCO360_CLI_{name.upper()}_ADDR")
        if overrides.get(name):
            addresses[name] = str(overrides[name])
        elif env:
            addresses[name] = env
        elif name in state and state[name].get("port"):
            addresses[name] = f"127.0.0.1:{state[name]['port']}"
        else:
            addresses[name] = f"127.0.0.1:{DEFAULT_PORTS[name]}"
    tls = tls if tls is not None else resolve_tls()
    bearer = resolve_token(token, token_file)
    if local_pki is not None:
        # A local suite started secure (demo, `services up`): its CA, the CLI's certificate and
        # the admin token, unless told otherwise. The files are the user's own (mode 0600).
        if tls is None:
            tls = ChannelTls(
                str(local_pki.ca_file), str(local_pki.cert_file(CLIENT_NAME)), str(local_pki.key_file(CLIENT_NAME))
            )
        if not bearer and local_pki.token_file("admin").exists():
            bearer = read_token_file(local_pki.token_file("admin"))
    return CliConfig(addresses=addresses, token=bearer, timeout=timeout, tls=tls)
