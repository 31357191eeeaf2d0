"""Run the four services locally as processes on SQLite, with logs to files and pid state.

`LocalSuite(var_dir)` starts `python -m services.<svc>` for each service with its own SQLite
file under `var_dir`, logs in `var_dir/logs/<svc>.log`, and a state file
`var_dir/run/suite.json` (pid, port, log per service) that `services status`/`down` and the
other CLI commands read. Start waits for each service's gRPC health to report SERVING; stop
sends SIGTERM and waits for a clean exit (SIGKILL only after the grace period, reported).
With a development PKI (`pki=devpki.create(...)`, what the demo does) every service serves
mutual TLS and requires signed tokens: its own certificate and key, the CA, the JWT public key
and its peer token come from the PKI's files; `client_tls` and `token_file("admin")` are what a
client of that suite needs.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from telco360_cli.config import DEFAULT_PORTS, SERVICES, STATE_FILE
from telco360_cli.errors import CliError
from telco360_runtime.devpki import CLIENT_NAME, Pki
from telco360_runtime.tls import ChannelTls

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def health_status(address: str, timeout: float = 1.0, tls: ChannelTls | None = None) -> str:
    """The overall gRPC health status of a server ("SERVING", "NOT_SERVING", "UNREACHABLE"),
    over TLS when `tls` is given."""
    try:
        channel = (
            grpc.secure_channel(address, tls.channel_credentials(), options=tls.channel_options())
            if tls is not None
            else grpc.insecure_channel(address)
        )
        with channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except grpc.RpcError:
        return "UNREACHABLE"


def pid_alive(pid: int, service: str) -> bool:
    """Whether `pid` is a live `services.<service>` process (guards against reused pids)."""
    try:
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if f"services.{service}" not in cmdline:
        return False
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class ServiceState:
    """What the suite knows about one running service."""

    name: str
    pid: int
    port: int
    log: str

    @property
    def address(self) -> str:
        """host:port on loopback."""
        return f"127.0.0.1:{self.port}"


class LocalSuite:
    """The four services as local processes under one var directory."""

    def __init__(
        self,
        var_dir: pathlib.Path,
        ports: dict[str, int] | None = None,
        extra_env: dict[str, str] | None = None,
        pki: Pki | None = None,
    ) -> None:
        self.var_dir = var_dir.resolve()
        self.ports = dict(ports or DEFAULT_PORTS)
        self.extra_env = dict(extra_env or {})
        self.pki = pki
        self.log_dir = self.var_dir / "logs"
        self.run_dir = self.var_dir / "run"

    # ------------------------------------------------------------------ state
    @property
    def state_path(self) -> pathlib.Path:
        """Where pids and ports are kept."""
        return self.run_dir / STATE_FILE

    def read(self) -> dict[str, ServiceState]:
        """The recorded services (running or not)."""
        if not self.state_path.exists():
            return {}
        data = json.loads(self.state_path.read_text()).get("services", {})
        return {name: ServiceState(name=name, **info) for name, info in data.items()}

    def _write(self, states: dict[str, ServiceState]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "var_dir": str(self.var_dir),
            "pki": str(self.pki.root) if self.pki is not None else "",
            "services": {s.name: {"pid": s.pid, "port": s.port, "log": s.log} for s in states.values()},
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(self.state_path)
        for state in states.values():
            (self.run_dir / f"{state.name}.pid").write_text(f"{state.pid}\n")

    @property
    def client_tls(self) -> ChannelTls | None:
        """TLS for clients of this suite (the CA and the CLI's certificate); None: plaintext."""
        if self.pki is None:
            return None
        return ChannelTls(
            str(self.pki.ca_file), str(self.pki.cert_file(CLIENT_NAME)), str(self.pki.key_file(CLIENT_NAME))
        )

    def secure_env(self, name: str) -> dict[str, str]:
        """A service's TLS (mutual) and JWT settings from the PKI; {} without one."""
        if self.pki is None:
            return {}
        prefix = f"TELCO360_{name.upper()}_"
        return {
            f"{prefix}TLS_CERT_FILE": str(self.pki.cert_file(name)),
            f"{prefix}TLS_KEY_FILE": str(self.pki.key_file(name)),
            f"{prefix}TLS_CA_FILE": str(self.pki.ca_file),
            f"{prefix}TLS_CLIENT_AUTH": "true",
            f"{prefix}JWT_KEYS_FILE": str(self.pki.jwt_keys_file),
            f"{prefix}PEER_TOKEN_FILE": str(self.pki.token_file(name)),
        }

    def addresses(self) -> dict[str, str]:
        """Loopback addresses of the configured ports."""
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    # ------------------------------------------------------------------ start
    def env_for(self, name: str) -> dict[str, str]:
        """Environment of one service process: port, SQLite store, peers, metrics off."""
        prefix = f"TELCO360_{name.upper()}_"
        env = {
            **os.environ,
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(self.ports[name]),
            f"{prefix}DATABASE_URL": f"sqlite:///{self.var_dir / (name + '.db')}",
            f"{prefix}METRICS_PORT": "0",
            f"{prefix}REPORT_DIR": str(self.var_dir / "reports"),
            "PYTHONUNBUFFERED": "1",
            **self.secure_env(name),
        }
        for peer in SERVICES:
            if peer != name:
                env[f"{prefix}{peer.upper()}_ADDR"] = f"127.0.0.1:{self.ports[peer]}"
        for key, value in self.extra_env.items():
            env[key.replace("{SVC}", name.upper())] = value
        return env

    def start(self, names: tuple[str, ...] = SERVICES, timeout: float = 90.0) -> dict[str, ServiceState]:
        """Start services not already running and wait until each reports SERVING."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        states = {n: s for n, s in self.read().items() if pid_alive(s.pid, n)}
        launched: list[tuple[ServiceState, subprocess.Popen]] = []
        for name in names:
            if name in states:
                continue
            log_path = self.log_dir / f"{name}.log"
            with open(log_path, "ab") as log:
                # A new session: the services outlive the CLI and ignore its terminal's Ctrl-C.
                proc = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}"],
                    cwd=REPO_ROOT,
                    env=self.env_for(name),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            state = ServiceState(name=name, pid=proc.pid, port=self.ports[name], log=str(log_path))
            states[name] = state
            launched.append((state, proc))
        self._write(states)
        for state, proc in launched:
            self._wait_serving(state, proc, timeout)
        return states

    def _wait_serving(self, state: ServiceState, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise CliError(
                    f"{state.name} exited with status {proc.returncode} while starting; "
                    f"last log lines:\n{tail(pathlib.Path(state.log))}"
                )
            if health_status(state.address, tls=self.client_tls) == "SERVING":
                return
            if time.monotonic() > deadline:
                raise CliError(
                    f"{state.name} did not report SERVING within {timeout:.0f} s; "
                    f"last log lines:\n{tail(pathlib.Path(state.log))}"
                )
            time.sleep(0.25)

    # ------------------------------------------------------------------ status / stop
    def _recorded_pki(self) -> None:
        """Take the PKI a suite was started with from its state file (for `services status`)."""
        if self.pki is not None or not self.state_path.exists():
            return
        try:
            root = json.loads(self.state_path.read_text()).get("pki", "")
        except (OSError, ValueError):
            return
        if root and pathlib.Path(root).is_dir():
            self.pki = Pki(pathlib.Path(root))

    def status(self) -> list[dict[str, object]]:
        """Per recorded service: pid, alive, port, health and log path."""
        self._recorded_pki()
        rows: list[dict[str, object]] = []
        for name in SERVICES:
            state = self.read().get(name)
            if state is None:
                rows.append(
                    {
                        "service": name,
                        "pid": None,
                        "alive": False,
                        "port": self.ports[name],
                        "health": "NOT STARTED",
                        "log": "",
                    }
                )
                continue
            alive = pid_alive(state.pid, name)
            rows.append(
                {
                    "service": name,
                    "pid": state.pid,
                    "alive": alive,
                    "port": state.port,
                    "health": health_status(state.address, tls=self.client_tls) if alive else "STOPPED",
                    "log": state.log,
                }
            )
        return rows

    def stop(self, grace: float = 30.0) -> dict[str, str]:
        """SIGTERM every recorded live service, wait for exit; returns how each ended."""
        outcome: dict[str, str] = {}
        states = self.read()
        for name, state in states.items():
            if pid_alive(state.pid, name):
                os.kill(state.pid, signal.SIGTERM)
                outcome[name] = "signalled"
            else:
                outcome[name] = "not running"
        deadline = time.monotonic() + grace
        for name, state in states.items():
            if outcome[name] != "signalled":
                continue
            while pid_alive(state.pid, name) and time.monotonic() < deadline:
                _reap(state.pid)
                time.sleep(0.1)
            if pid_alive(state.pid, name):
                os.kill(state.pid, signal.SIGKILL)
                outcome[name] = f"killed after {grace:.0f} s"
            else:
                clean = '"event": "stopped"' in tail(pathlib.Path(state.log), 40)
                outcome[name] = "stopped cleanly" if clean else "exited (no clean-stop log line)"
            _reap(state.pid)
            (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        return outcome


def _reap(pid: int) -> None:
    """Collect an exited child of this process (no-op for processes started elsewhere)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def tail(path: pathlib.Path, lines: int = 15) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
