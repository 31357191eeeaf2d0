"""One-shot `secrets` service of docker-compose.yml: the suite's development PKI and passwords.

Run once per deployment (the files are kept on later starts; a missing or expiring one is made
again), as root with every capability dropped but CHOWN, DAC_OVERRIDE and FOWNER, no network.
Each consumer gets its own volume holding only what it needs:

- /secrets/ca (this service only): the whole PKI of telco360_runtime.devpki (CA key, JWT
  signing key, every certificate and token), and `client/`: what an operator's CLI needs
  (ca.pem, cli.pem, cli.key, admin.jwt; `scripts/compose_smoke.sh` copies it out);
- /secrets/<svc> (owned by uid 10001, the services' user, files 0600): tls.pem, tls.key,
  ca.pem, jwt-keys.pem, peer.jwt (its own identity) and pgpass (its database role's password,
  libpq's PGPASSFILE format);
- /secrets/postgres: superuser-password and <svc>-db-password for the init script that
  creates one role per service (docker/postgres/initdb.d). Only the postgres container
  mounts it; its files are 0644 because the server's uid differs between images.

Passwords are random (no default password exists anywhere); they are kept once made, since
PostgreSQL only reads them when its volume is first initialised.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import sys

from telco360_runtime import devpki

ROOT = pathlib.Path(os.environ.get("TELCO360_SECRETS_ROOT", "/secrets"))
SERVICE_UID = int(os.environ.get("TELCO360_SERVICE_UID", "10001"))


def _copy(src: pathlib.Path, dst: pathlib.Path, mode: int, uid: int) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, mode)
    os.chown(tmp, uid, uid)
    os.replace(tmp, dst)


def _password(path: pathlib.Path) -> str:
    """The password kept in `path`, made (random) when missing."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def main() -> int:
    """Create or complete every volume's files; exit 0 when all are in place."""
    ca_dir = ROOT / "ca"
    pki = devpki.create(ca_dir)
    passwords_dir = ca_dir / "passwords"
    passwords_dir.mkdir(mode=0o700, exist_ok=True)
    postgres = ROOT / "postgres"
    for name in ("postgres", *devpki.SERVICES):
        (ROOT / name).mkdir(exist_ok=True)  # volumes in compose; plain directories elsewhere
    superuser = _password(passwords_dir / "superuser")
    (postgres / "superuser-password").write_text(superuser + "\n")
    os.chmod(postgres / "superuser-password", 0o644)
    for svc in devpki.SERVICES:
        password = _password(passwords_dir / svc)
        (postgres / f"{svc}-db-password").write_text(password + "\n")
        os.chmod(postgres / f"{svc}-db-password", 0o644)
        out = ROOT / svc
        os.chown(out, SERVICE_UID, SERVICE_UID)
        os.chmod(out, 0o700)
        for src, name in (
            (pki.cert_file(svc), "tls.pem"),
            (pki.key_file(svc), "tls.key"),
            (pki.ca_file, "ca.pem"),
            (pki.jwt_keys_file, "jwt-keys.pem"),
            (pki.token_file(svc), "peer.jwt"),
        ):
            _copy(src, out / name, 0o600, SERVICE_UID)
        pgpass = out / ".pgpass.tmp"
        pgpass.write_text(f"postgres:5432:{svc}:{svc}:{password}\n")
        os.chmod(pgpass, 0o600)
        os.chown(pgpass, SERVICE_UID, SERVICE_UID)
        os.replace(pgpass, out / "pgpass")
    client = ca_dir / "client"
    client.mkdir(mode=0o700, exist_ok=True)
    for src, name in (
        (pki.ca_file, "ca.pem"),
        (pki.cert_file(devpki.CLIENT_NAME), "cli.pem"),
        (pki.key_file(devpki.CLIENT_NAME), "cli.key"),
        (pki.token_file("admin"), "admin.jwt"),
    ):
        _copy(src, client / name, 0o600, 0)
    print(f"secrets ready under {ROOT}: ca, postgres, {', '.join(devpki.SERVICES)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
