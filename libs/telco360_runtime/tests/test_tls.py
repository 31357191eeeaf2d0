"""TLS and mutual TLS through real grpc.aio servers on free ports, with certificates from devpki."""

from __future__ import annotations

import asyncio
import importlib.util
import pathlib
import shutil
import stat

import grpc
import jwt
import pytest
from pydantic import ValidationError

from telco360_runtime import context, devpki
from telco360_runtime.clients import open_channel
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.tls import ChannelTls, ServerCertificates, TlsFileError

from .conftest import raw_service

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> devpki.Pki:
    return devpki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> devpki.Pki:
    """A second, unrelated CA (a stranger's certificates)."""
    return devpki.create(tmp_path_factory.mktemp("other"), services=("profile",))


async def _echo(request: bytes, ctx) -> bytes:
    return b"echo:" + request


async def _whoami(request: bytes, ctx) -> bytes:
    return f"{context.caller_identity()}|{context.request_id()}".encode()


def _server_tls(pki: devpki.Pki, name: str = "profile", *, client_auth: bool = False) -> dict[str, object]:
    return {
        "tls_cert_file": str(pki.cert_file(name)),
        "tls_key_file": str(pki.key_file(name)),
        "tls_ca_file": str(pki.ca_file),
        "tls_client_auth": client_auth,
    }


def _client(pki: devpki.Pki, name: str | None = devpki.CLIENT_NAME, **kw: str) -> ChannelTls:
    if name is None:
        return ChannelTls(str(pki.ca_file), **kw)
    return ChannelTls(str(pki.ca_file), str(pki.cert_file(name)), str(pki.key_file(name)), **kw)


async def _call(address: str, tls: ChannelTls | None, method: str = "/test.Echo/Echo", **kw) -> bytes:
    async with open_channel(address, default_timeout=5.0, tls=tls, **kw) as channel:
        return await channel.unary_unary(method)(b"hi", wait_for_ready=False)


async def _refused(address: str, tls: ChannelTls | None) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(address, tls)
    return caught.value.code()


async def test_a_tls_call_succeeds_and_a_plaintext_client_is_refused(start_service, pki) -> None:
    service = await start_service([raw_service("test.Echo", {"Echo": _echo})], **_server_tls(pki))
    assert await _call(service.address, _client(pki, None)) == b"echo:hi"
    assert await _call(service.address, _client(pki)) == b"echo:hi"  # a client certificate is not required
    assert await _refused(service.address, None) == grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.insecure_channel(service.address) as plain:
        with pytest.raises(grpc.aio.AioRpcError):
            await plain.unary_unary("/test.Echo/Echo")(b"hi", timeout=3)


async def test_client_auth_refuses_clients_without_a_certificate_from_the_ca(start_service, pki, other_pki) -> None:
    service = await start_service([raw_service("test.Echo", {"Echo": _echo})], **_server_tls(pki, client_auth=True))
    assert await _call(service.address, _client(pki)) == b"echo:hi"
    assert await _call(service.address, _client(pki, "scoring")) == b"echo:hi"  # a service as client
    assert await _refused(service.address, _client(pki, None)) == grpc.StatusCode.UNAVAILABLE
    # A certificate from another CA, even when the client trusts the right server CA.
    stranger = ChannelTls(str(pki.ca_file), str(other_pki.cert_file("cli")), str(other_pki.key_file("cli")))
    assert await _refused(service.address, stranger) == grpc.StatusCode.UNAVAILABLE
    # A client trusting another CA refuses the server.
    assert await _refused(service.address, _client(other_pki)) == grpc.StatusCode.UNAVAILABLE


async def test_a_peer_channel_from_settings_carries_token_and_request_id_over_mutual_tls(start_service, pki) -> None:
    service = await start_service(
        [raw_service("test.Who", {"WhoAmI": _whoami})],
        name="profile",
        jwt_keys_file=str(pki.jwt_keys_file),
        **_server_tls(pki, client_auth=True),
    )
    caller = ServiceSettings(
        service_name="scoring",
        peer_token_file=str(pki.token_file("scoring")),
        **_server_tls(pki, "scoring"),
    )
    tls = caller.peer_tls()
    assert tls == ChannelTls(str(pki.ca_file), str(pki.cert_file("scoring")), str(pki.key_file("scoring")))
    async with open_channel(service.address, token=caller.peer_token(), tls=tls) as channel:
        reply = await channel.unary_unary("/test.Who/WhoAmI")(b"", metadata=(("x-request-id", "req-tls-1"),))
        assert reply == b"scoring (service)|req-tls-1"
        reply = await channel.unary_unary("/test.Who/WhoAmI")(b"")
        identity, request_id = reply.decode().split("|")
        assert identity == "scoring (service)" and request_id
    # The same token without the certificate is refused at the handshake.
    async with open_channel(service.address, token=caller.peer_token(), tls=_client(pki, None)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary("/test.Who/WhoAmI")(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_server_name_override_checks_the_certificate_for_that_name(start_service, pki, tmp_path) -> None:
    cert, key = devpki.issue(
        pki.ca_file.read_bytes(), pki.key_file("ca").read_bytes(), "scoring", alt_names=["scoring"]
    )
    (tmp_path / "s.pem").write_bytes(cert)
    (tmp_path / "s.key").write_bytes(key)
    service = await start_service(
        [raw_service("test.Echo", {"Echo": _echo})],
        tls_cert_file=str(tmp_path / "s.pem"),
        tls_key_file=str(tmp_path / "s.key"),
    )
    assert await _refused(service.address, _client(pki, None)) == grpc.StatusCode.UNAVAILABLE  # not 127.0.0.1
    assert await _call(service.address, _client(pki, None, server_name="scoring")) == b"echo:hi"


async def test_the_server_certificate_is_reloaded_without_restart(start_service, pki, other_pki, tmp_path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    for name in ("profile.pem", "profile.key", "ca.pem"):
        shutil.copy(pki.root / name, live / name)
    files = {
        "tls_cert_file": str(live / "profile.pem"),
        "tls_key_file": str(live / "profile.key"),
        "tls_ca_file": str(live / "ca.pem"),
        "tls_client_auth": True,
    }
    service = await start_service([raw_service("test.Echo", {"Echo": _echo})], **files)
    assert await _call(service.address, _client(pki)) == b"echo:hi"

    # Half a rotation (the new certificate, the old key): the last good configuration stays.
    shutil.copy(other_pki.cert_file("profile"), live / "profile.pem")
    assert await _call(service.address, _client(pki)) == b"echo:hi"

    # The whole rotation, to a new CA: new connections use it, the old CA's clients are refused.
    shutil.copy(other_pki.key_file("profile"), live / "profile.key")
    shutil.copy(other_pki.ca_file, live / "ca.pem")
    assert await _call(service.address, _client(other_pki)) == b"echo:hi"
    assert await _refused(service.address, _client(pki)) == grpc.StatusCode.UNAVAILABLE


def test_server_certificates_refuse_unusable_files_at_start(pki, other_pki, tmp_path) -> None:
    cert, key, ca = str(pki.cert_file("profile")), str(pki.key_file("profile")), str(pki.ca_file)
    with pytest.raises(TlsFileError, match="does not belong"):
        ServerCertificates(cert, str(other_pki.key_file("profile")))
    with pytest.raises(TlsFileError, match="cannot read"):
        ServerCertificates(str(tmp_path / "missing.pem"), key)
    (tmp_path / "empty.pem").write_text("not a certificate")
    with pytest.raises(TlsFileError, match="no PEM"):
        ServerCertificates(cert, key, str(tmp_path / "empty.pem"))
    with pytest.raises(TlsFileError, match="CA file"):
        ServerCertificates(cert, key, client_auth=True)
    certificates = ServerCertificates(cert, key, ca, client_auth=True)
    assert certificates() is None and certificates.reloads == 0  # nothing changed: no new configuration


def test_settings_refuse_incomplete_tls_and_give_peers_tls_only_with_a_ca(pki) -> None:
    cert, key, ca = str(pki.cert_file("profile")), str(pki.key_file("profile")), str(pki.ca_file)
    with pytest.raises(ValidationError, match="tls_cert_file and tls_key_file"):
        ServiceSettings(tls_cert_file=cert)
    with pytest.raises(ValidationError, match="tls_cert_file and tls_key_file"):
        ServiceSettings(tls_key_file=key)
    with pytest.raises(ValidationError, match="tls_client_auth needs tls_ca_file"):
        ServiceSettings(tls_cert_file=cert, tls_key_file=key, tls_client_auth=True)
    assert ServiceSettings().peer_tls() is None
    assert ServiceSettings(tls_cert_file=cert, tls_key_file=key).peer_tls() is None
    assert ServiceSettings(tls_ca_file=ca).peer_tls() == ChannelTls(ca)


def test_settings_read_tls_from_the_environment(pki, monkeypatch) -> None:
    monkeypatch.setenv("TELCO360_TLS_CERT_FILE", str(pki.cert_file("ingest")))
    monkeypatch.setenv("TELCO360_TLS_KEY_FILE", str(pki.key_file("ingest")))
    monkeypatch.setenv("TELCO360_TLS_CA_FILE", str(pki.ca_file))
    monkeypatch.setenv("TELCO360_TLS_CLIENT_AUTH", "true")
    settings = ServiceSettings()
    assert settings.tls_client_auth and settings.tls_cert_file.endswith("ingest.pem")


def test_devpki_writes_secret_files_0600_and_is_idempotent(tmp_path) -> None:
    pki = devpki.create(tmp_path / "pki")
    secrets = [pki.key_file(n) for n in ("ca", "cli", *devpki.SERVICES)] + [pki.jwt_signing_key]
    secrets += [pki.token_file(n) for n in (*devpki.SERVICES, *devpki.USER_SUBJECTS)]
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [pki.ca_file, pki.jwt_keys_file, *(pki.cert_file(n) for n in devpki.SERVICES)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    before = {p.name: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()}
    devpki.create(pki.root)
    assert {p.name: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()} == before
    pki.key_file("cli").unlink()
    pki.token_file("analyst").unlink()
    devpki.create(pki.root)  # completes what is missing with the same CA and signing key
    assert pki.ca_file.read_bytes() == before["ca.pem"] and pki.key_file("cli").exists()
    assert pki.cert_file("cli").read_bytes() != before["cli.pem"] and pki.token_file("analyst").exists()
    assert pki.cert_file("profile").read_bytes() == before["profile.pem"]
    devpki.create(pki.root, force=True)
    assert pki.ca_file.read_bytes() != before["ca.pem"]
    assert pki.jwt_keys_file.read_bytes() != before["jwt-keys.pem"]


def test_devpki_tokens_carry_the_roles_audiences_and_lifetimes(pki) -> None:
    public = pki.jwt_keys_file.read_bytes()

    def claims(name: str, audience: str) -> dict:
        token = pki.token_file(name).read_text().strip()
        return jwt.decode(token, public, algorithms=["EdDSA"], audience=audience, issuer="telco360")

    scoring = claims("scoring", "profile")
    assert scoring["role"] == "service" and scoring["sub"] == "scoring"
    assert sorted(scoring["aud"]) == ["contact", "ingest", "profile"]
    assert scoring["exp"] - scoring["iat"] == devpki.SERVICE_TOKEN_TTL_S
    with pytest.raises(jwt.InvalidAudienceError):
        claims("scoring", "scoring")  # a service's token is for its peers, not itself
    manager = claims("account_manager", "contact")
    assert manager["role"] == "account_manager" and manager["sub"] == "AM1001"
    assert sorted(manager["aud"]) == sorted(devpki.SERVICES)
    assert manager["exp"] - manager["iat"] == devpki.USER_TOKEN_TTL_S
    for role in devpki.USER_SUBJECTS:
        assert claims(role, "ingest")["role"] == role


def _health_check_module():
    spec = importlib.util.spec_from_file_location("grpc_health_check", ROOT / "scripts" / "grpc_health_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_health_check_script_speaks_mutual_tls(start_service, pki, monkeypatch) -> None:
    health = _health_check_module()
    service = await start_service([raw_service("test.Echo", {"Echo": _echo})], **_server_tls(pki, client_auth=True))
    monkeypatch.setenv("TELCO360_SERVICE", "profile")  # inside the container: its own settings
    monkeypatch.setenv("TELCO360_PROFILE_TLS_CA_FILE", str(pki.ca_file))
    monkeypatch.setenv("TELCO360_PROFILE_TLS_CERT_FILE", str(pki.cert_file("profile")))
    monkeypatch.setenv("TELCO360_PROFILE_TLS_KEY_FILE", str(pki.key_file("profile")))
    args = health.parse_args(["--quiet", service.address])
    assert await asyncio.to_thread(health.check, args) == ["SERVING"]
    monkeypatch.delenv("TELCO360_SERVICE")
    plain = health.parse_args(["--quiet", "--timeout", "1", service.address])
    assert plain.tls_ca == "" and await asyncio.to_thread(health.check, plain) != ["SERVING"]
    monkeypatch.setenv("TELCO360_HEALTH_TLS_CA", str(pki.ca_file))
    monkeypatch.setenv("TELCO360_HEALTH_TLS_CERT", str(pki.cert_file("cli")))
    monkeypatch.setenv("TELCO360_HEALTH_TLS_KEY", str(pki.key_file("cli")))
    assert await asyncio.to_thread(health.check, health.parse_args(["--quiet", service.address])) == ["SERVING"]
