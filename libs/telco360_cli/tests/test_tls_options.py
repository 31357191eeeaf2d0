"""The CLI's TLS options and environment, and `telco360 pki init`."""

from __future__ import annotations

import stat

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from typer.testing import CliRunner

from telco360_cli.app import app
from telco360_cli.config import resolve, resolve_tls
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime import devpki
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.tls import ChannelTls

ENV = ("TELCO360_CLI_TLS_CA", "TELCO360_CLI_TLS_CERT", "TELCO360_CLI_TLS_KEY")


@pytest.fixture
def pki(tmp_path) -> devpki.Pki:
    return devpki.create(tmp_path / "pki")


@pytest.fixture(autouse=True)
def _no_tls_env(monkeypatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_tls_comes_from_options_before_the_environment(pki, monkeypatch, tmp_path) -> None:
    assert resolve_tls() is None and resolve(var_dir=tmp_path).tls is None
    monkeypatch.setenv("TELCO360_CLI_TLS_CA", str(pki.ca_file))
    assert resolve_tls() == ChannelTls(str(pki.ca_file))
    monkeypatch.setenv("TELCO360_CLI_TLS_CERT", str(pki.cert_file("cli")))
    monkeypatch.setenv("TELCO360_CLI_TLS_KEY", str(pki.key_file("cli")))
    assert resolve(var_dir=tmp_path).tls == ChannelTls(
        str(pki.ca_file), str(pki.cert_file("cli")), str(pki.key_file("cli"))
    )
    option = resolve_tls(pki.ca_file, pki.cert_file("ingest"), pki.key_file("ingest"))
    assert option is not None and option.cert_file == str(pki.cert_file("ingest"))


def test_incomplete_tls_options_are_refused_in_words(pki, tmp_path) -> None:
    with pytest.raises(CliError, match="together"):
        resolve_tls(pki.ca_file, pki.cert_file("cli"), None)
    with pytest.raises(CliError, match="needs --tls-ca"):
        resolve_tls(None, pki.cert_file("cli"), pki.key_file("cli"))
    with pytest.raises(CliError, match="cannot be read"):
        resolve_tls(tmp_path / "missing.pem")


async def test_the_cli_clients_reach_a_mutual_tls_server(pki, tmp_path) -> None:
    settings = ServiceSettings(
        service_name="ingest",
        port=0,
        tls_cert_file=str(pki.cert_file("ingest")),
        tls_key_file=str(pki.key_file("ingest")),
        tls_ca_file=str(pki.ca_file),
        tls_client_auth=True,
    )
    service = GrpcService(settings, [])
    await service.start()
    try:
        config = resolve(
            {"ingest": service.address},
            var_dir=tmp_path,
            tls=resolve_tls(pki.ca_file, pki.cert_file("cli"), pki.key_file("cli")),
        )
        async with Clients(config) as clients:
            stub = health_pb2_grpc.HealthStub(clients.channel("ingest"))
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await service.stop(0)


def test_pki_init_writes_a_pki_and_keeps_an_existing_one(tmp_path) -> None:
    out = tmp_path / "pki"
    runner = CliRunner()
    result = runner.invoke(app, ["--var-dir", str(tmp_path), "pki", "init", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"ca.pem", "ca.key", "cli.pem", "cli.key", "jwt-keys.pem", "jwt-signing.key"} <= names
    assert {f"{svc}.{ext}" for svc in devpki.SERVICES for ext in ("pem", "key")} <= names
    assert {f"tokens/{n}.jwt" for n in (*devpki.SERVICES, *devpki.USER_SUBJECTS)} <= names
    assert stat.S_IMODE((out / "ca.key").stat().st_mode) == 0o600
    ca = (out / "ca.pem").read_bytes()
    assert runner.invoke(app, ["pki", "init", "--out", str(out)]).exit_code == 0
    assert (out / "ca.pem").read_bytes() == ca
    assert runner.invoke(app, ["pki", "init", "--out", str(out), "--force"]).exit_code == 0
    assert (out / "ca.pem").read_bytes() != ca


def test_a_local_suite_with_a_pki_runs_every_service_with_mutual_tls_and_jwt(pki, tmp_path) -> None:
    from telco360_cli.processes import LocalSuite

    suite = LocalSuite(tmp_path / "var", pki=pki)
    env = suite.env_for("scoring")
    assert env["TELCO360_SCORING_TLS_CERT_FILE"] == str(pki.cert_file("scoring"))
    assert env["TELCO360_SCORING_TLS_KEY_FILE"] == str(pki.key_file("scoring"))
    assert env["TELCO360_SCORING_TLS_CA_FILE"] == str(pki.ca_file)
    assert env["TELCO360_SCORING_TLS_CLIENT_AUTH"] == "true"
    assert env["TELCO360_SCORING_JWT_KEYS_FILE"] == str(pki.jwt_keys_file)
    assert env["TELCO360_SCORING_PEER_TOKEN_FILE"] == str(pki.token_file("scoring"))
    assert suite.client_tls == ChannelTls(str(pki.ca_file), str(pki.cert_file("cli")), str(pki.key_file("cli")))
    plain = LocalSuite(tmp_path / "plain")
    assert plain.client_tls is None and not any("_TLS_" in key for key in plain.env_for("scoring"))


def test_compose_runs_every_service_secure_by_default() -> None:
    import yaml

    from telco360_cli.tests.test_config import COMPOSE

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
    for name in ("postgres", *devpki.SERVICES):
        service = services[name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    for name in devpki.SERVICES:
        env = services[name]["environment"]
        prefix = f"TELCO360_{name.upper()}_"
        for key in ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE", "JWT_KEYS_FILE", "PEER_TOKEN_FILE"):
            assert env[prefix + key].startswith("/secrets/"), (name, key)
        assert env[prefix + "TLS_CLIENT_AUTH"] == "true"
        # Its own least-privilege role, the password in a file, never in the URL.
        assert env[prefix + "DATABASE_URL"] == f"postgresql+psycopg://{name}@postgres:5432/{name}"
        assert services[name]["volumes"] == [f"secrets-{name}:/secrets:ro"]
