"""A development PKI: a local CA, certificates for the four services and the CLI, JWT material.

For tests, `make demo` and docker compose (`telco360 pki init --out DIR`); never for
production, where certificates come from the operator's CA and tokens from its identity
provider. `create(out)` writes:

- `ca.pem` / `ca.key`: the CA that signs every certificate below (clients and servers trust it);
- `<svc>.pem` / `<svc>.key` for ingest, profile, scoring and contact: server certificate (SANs:
  the service name, which is also its compose name, localhost, 127.0.0.1, ::1), also used as
  the service's client certificate towards its peers (mutual TLS);
- `cli.pem` / `cli.key`: a client certificate for the CLI and the demo;
- `jwt-signing.key` (Ed25519 private key) and `jwt-keys.pem` (its public key: the services'
  `jwt_keys_file`);
- `tokens/<svc>.jwt`: each service's own identity (role `service`, audience its three peers,
  30 days), its `peer_token_file`;
- `tokens/<role>.jwt` for demo users: admin, analyst, marketing, call_center and
  account_manager (subject AM1001), audience all four services, 1 day.

Private keys and tokens are written mode 0600. Idempotent: what exists is kept (unless
`force`), a missing file is made again with the existing CA or signing key, and a certificate
or token that has expired or is about to is renewed, so a kept PKI keeps working.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pathlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from telco360_runtime import jwt_tokens

SERVICES: tuple[str, ...] = ("ingest", "profile", "scoring", "contact")
HOST_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
CLIENT_NAME = "cli"
SERVICE_TOKEN_TTL_S = 30 * 24 * 3600
USER_TOKEN_TTL_S = 24 * 3600
USER_SUBJECTS: dict[str, str] = {
    "admin": "demo-admin",
    "analyst": "demo-analyst",
    "marketing": "demo-marketing",
    "call_center": "demo-call-center",
    "account_manager": "AM1001",
}
"""Demo user role -> the subject its token names."""
CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE_S = 3600
"""A certificate or token valid for less than this is renewed when the PKI is created again."""


@dataclass(frozen=True)
class Pki:
    """Where a development PKI lies (all paths absolute)."""

    root: pathlib.Path

    @property
    def ca_file(self) -> pathlib.Path:
        """The CA certificate every party trusts."""
        return self.root / "ca.pem"

    def cert_file(self, name: str) -> pathlib.Path:
        """Certificate of a service or of the CLI (`cli`)."""
        return self.root / f"{name}.pem"

    def key_file(self, name: str) -> pathlib.Path:
        """Private key of a service or of the CLI (`cli`)."""
        return self.root / f"{name}.key"

    @property
    def jwt_keys_file(self) -> pathlib.Path:
        """Public key the services verify JWTs with."""
        return self.root / "jwt-keys.pem"

    @property
    def jwt_signing_key(self) -> pathlib.Path:
        """Private key tokens are signed with."""
        return self.root / "jwt-signing.key"

    def token_file(self, name: str) -> pathlib.Path:
        """Token of a service (its peer token) or of a demo user role."""
        return self.root / "tokens" / f"{name}.jwt"


def _write(path: pathlib.Path, data: bytes, *, secret: bool) -> None:
    """Write atomically (a reader never sees half a file), mode 0600 for secrets, 0644 otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600 if secret else 0o644)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Telco360 development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _valid_for(path: pathlib.Path, at_least_s: float) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc.timestamp() - time.time() > at_least_s


def new_ca(common_name: str = "Telco360 development CA", *, days: int = CA_DAYS) -> tuple[bytes, bytes]:
    """A self-signed CA: (certificate PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue(
    ca_cert_pem: bytes,
    ca_key_pem: bytes,
    common_name: str,
    *,
    alt_names: Iterable[str] = (),
    server: bool = True,
    days: int = LEAF_DAYS,
) -> tuple[bytes, bytes]:
    """A certificate signed by the CA: (certificate PEM, private key PEM). `server`: usable as
    a server certificate (with `alt_names`) and as a client certificate; otherwise client only."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the development CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    names = list(dict.fromkeys(alt_names))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _token_valid_for(path: pathlib.Path, at_least_s: float) -> bool:
    try:
        claims = jwt.decode(path.read_text(encoding="utf-8").strip(), options={"verify_signature": False})
    except (OSError, UnicodeDecodeError, jwt.PyJWTError):
        return False
    return float(claims.get("exp", 0)) - time.time() > at_least_s


def create(
    out: pathlib.Path | str,
    *,
    force: bool = False,
    services: Sequence[str] = SERVICES,
    issuer: str = "telco360",
) -> Pki:
    """Make (or complete, or renew) the development PKI under `out`; see the module docstring."""
    pki = Pki(pathlib.Path(out).resolve())
    pki.root.mkdir(parents=True, exist_ok=True)
    os.chmod(pki.root, 0o700)
    ca_key_file = pki.key_file("ca")
    renewed_ca = force or not (pki.ca_file.exists() and ca_key_file.exists()) or not _valid_for(pki.ca_file, 86400)
    if renewed_ca:
        ca_pem, ca_key = new_ca()
        _write(ca_key_file, ca_key, secret=True)
        _write(pki.ca_file, ca_pem, secret=False)
    ca_pem, ca_key = pki.ca_file.read_bytes(), ca_key_file.read_bytes()
    leaves = [(svc, [svc, *HOST_NAMES], True) for svc in services] + [(CLIENT_NAME, [], False)]
    for name, alt_names, server in leaves:
        cert_file, key_file = pki.cert_file(name), pki.key_file(name)
        if renewed_ca or not key_file.exists() or not _valid_for(cert_file, RENEW_BEFORE_S):
            cert, key = issue(ca_pem, ca_key, name, alt_names=alt_names, server=server)
            _write(key_file, key, secret=True)
            _write(cert_file, cert, secret=False)

    renewed_signer = force or not (pki.jwt_signing_key.exists() and pki.jwt_keys_file.exists())
    if renewed_signer:
        signer = ed25519.Ed25519PrivateKey.generate()
        _write(pki.jwt_signing_key, _key_pem(signer), secret=True)
        public = signer.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write(pki.jwt_keys_file, public, secret=False)
    signing_key = pki.jwt_signing_key.read_bytes()
    grants: list[tuple[str, str, str, list[str], int]] = [
        (svc, svc, "service", [peer for peer in services if peer != svc], SERVICE_TOKEN_TTL_S) for svc in services
    ]
    grants += [(role, subject, role, list(services), USER_TOKEN_TTL_S) for role, subject in USER_SUBJECTS.items()]
    for name, subject, role, audience, ttl in grants:
        path = pki.token_file(name)
        if renewed_signer or not _token_valid_for(path, min(RENEW_BEFORE_S, ttl / 10)):
            token = jwt_tokens.mint(
                signing_key, subject=subject, role=role, audience=audience, issuer=issuer, ttl_seconds=ttl
            )
            _write(path, token.encode() + b"\n", secret=True)
    os.chmod(pki.root / "tokens", 0o700)
    return pki
