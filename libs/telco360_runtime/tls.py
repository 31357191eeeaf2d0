"""TLS and mutual TLS credentials for servers and peer channels, built from PEM files.

Server side, `server_credentials(cert, key, ca, client_auth)` returns credentials whose
certificate is re-read when its files change, without a restart: gRPC asks the fetcher given
to `grpc.dynamic_ssl_server_credentials` for the certificate configuration before each new
connection's handshake, and the fetcher answers a fresh configuration only when the
certificate, key or CA file changed (one stat per file per connection), so a renewed
certificate is used from the next connection on; established connections keep theirs.
A half-written pair (certificate renewed, key not yet) is kept out: a configuration is taken
only when the key matches the certificate, otherwise the last good one stays in force.
With `client_auth`, the server requires a client certificate signed by the CA file.

Client side, `ChannelTls` names the CA that signs the peers' server certificates and,
for mutual TLS, this party's own certificate and key; `channel_credentials()` reads the
files when a channel is opened (channels are long-lived: a renewed client certificate is
used by channels opened afterwards, i.e. after a restart of the client).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization


class TlsFileError(ValueError):
    """A certificate, key or CA file is missing, unreadable or not PEM."""


def read_pem(path: str, what: str) -> bytes:
    """The bytes of a PEM file; TlsFileError naming the file when unusable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as error:
        raise TlsFileError(f"cannot read the TLS {what} file {path}: {error.strerror}") from error
    if b"-----BEGIN" not in data:
        raise TlsFileError(f"the TLS {what} file {path} holds no PEM data")
    return data


def key_matches_certificate(cert_pem: bytes, key_pem: bytes) -> bool:
    """Whether the private key belongs to the (first) certificate of the chain."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return False
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _stamp(paths: tuple[str, ...]) -> tuple[tuple[int, int], ...] | None:
    try:
        return tuple((st.st_mtime_ns, st.st_size) for st in (os.stat(p) for p in paths))
    except OSError:
        return None


class ServerCertificates:
    """The server's certificate configuration, reloaded when its files change (the fetcher)."""

    def __init__(self, cert_file: str, key_file: str, ca_file: str = "", *, client_auth: bool = False) -> None:
        if client_auth and not ca_file:
            raise TlsFileError("client authentication needs a CA file to verify client certificates")
        self.cert_file, self.key_file, self.ca_file = cert_file, key_file, ca_file
        self.client_auth = client_auth
        self._paths = tuple(p for p in (cert_file, key_file, ca_file) if p)
        self._lock = threading.Lock()
        self._log = structlog.get_logger()
        self.reloads = 0
        self._stamp = _stamp(self._paths)
        self.initial = self._load()  # raises: a server never starts with unusable files

    def _load(self) -> grpc.ServerCertificateConfiguration:
        cert = read_pem(self.cert_file, "certificate")
        key = read_pem(self.key_file, "key")
        if not key_matches_certificate(cert, key):
            raise TlsFileError(f"the TLS key {self.key_file} does not belong to the certificate {self.cert_file}")
        ca = read_pem(self.ca_file, "CA") if self.ca_file else None
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        """The new configuration when a file changed since the last load, else None (no change)."""
        stamp = _stamp(self._paths)
        if stamp is None or stamp == self._stamp:
            return None
        with self._lock:
            if stamp == self._stamp:
                return None
            try:
                config = self._load()
            except TlsFileError as error:
                # Mid-rotation (key not yet written) or a bad file: keep serving the last good
                # certificate and try again on the next connection.
                self._log.warning("tls_reload_failed", detail=str(error))
                return None
            self._stamp = stamp
            self.reloads += 1
        self._log.info("tls_certificate_reloaded", cert_file=self.cert_file)
        return config


def server_credentials(
    cert_file: str, key_file: str, ca_file: str = "", *, client_auth: bool = False
) -> grpc.ServerCredentials:
    """Server credentials re-reading their files on change; `client_auth`: require and verify
    client certificates against `ca_file`."""
    certificates = ServerCertificates(cert_file, key_file, ca_file, client_auth=client_auth)
    # grpc-stubs type the fetcher as never answering None, which gRPC documents as "no change".
    fetcher = cast(Callable[[], grpc.ServerCertificateConfiguration], certificates)
    return grpc.dynamic_ssl_server_credentials(certificates.initial, fetcher, require_client_authentication=client_auth)


@dataclass(frozen=True)
class ChannelTls:
    """TLS for a client channel: the CA that signs the servers' certificates and, for mutual
    TLS, the client's own certificate and key. `server_name` overrides the name the server's
    certificate must carry (default: the target's host; for tests and address-only targets)."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""

    def __post_init__(self) -> None:
        if bool(self.cert_file) != bool(self.key_file):
            raise TlsFileError("a client certificate needs its key and a key its certificate")

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Credentials for grpc.aio.secure_channel, read from the files now."""
        ca = read_pem(self.ca_file, "CA")
        if not self.cert_file:
            return grpc.ssl_channel_credentials(root_certificates=ca)
        cert = read_pem(self.cert_file, "certificate")
        key = read_pem(self.key_file, "key")
        if not key_matches_certificate(cert, key):
            raise TlsFileError(f"the TLS key {self.key_file} does not belong to the certificate {self.cert_file}")
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)

    def channel_options(self) -> list[tuple[str, str]]:
        """Channel options the TLS settings need (the server-name override)."""
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []
