"""A throw-away PostgreSQL cluster for tests that take the database down (store outages).

Never the shared test server (TELCO360_TEST_PG_URL): each test owns its cluster, on a temp
dir and a free port, and may stop and start it. Used by the root conftest's
`private_postgres` fixture.
"""

from __future__ import annotations

import glob
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a temp dir and a free port, owned by one test."""

    def __init__(self, bindir: pathlib.Path) -> None:
        self.bindir = bindir
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="t360-pg-"))
        self.data = self.root / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # The server refuses to run as root: as root, run its tools as `postgres`.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "telco360", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.url = f"postgresql+psycopg://telco360@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are cut, as in an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        subprocess.run(
            [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_bindir() -> pathlib.Path | None:
    """Where initdb / pg_ctl live (PATH or /usr/lib/postgresql/<version>/bin), or None."""
    found = shutil.which("initdb")
    if found:
        return pathlib.Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return pathlib.Path(candidates[-1]).parent if candidates else None
