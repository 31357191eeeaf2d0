"""The CLI's default addresses are the host ports docker-compose.yml publishes by default."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from telco360_cli.config import DEFAULT_PORTS, resolve
from telco360_cli.errors import CliError

COMPOSE = pathlib.Path(__file__).resolve().parents[3] / "docker-compose.yml"


def published_default_port(service: str) -> int:
    """The default host port of a compose service's gRPC port mapping (`${VAR-<default>}`)."""
    ports = yaml.safe_load(COMPOSE.read_text())["services"][service]["ports"]
    grpc = [p for p in ports if str(p).endswith(":50051")]
    assert len(grpc) == 1, ports
    match = re.search(r"\$\{TELCO360_\w+_HOST_PORT-(\d+)\}:50051$", grpc[0])
    assert match, f"{service}: host port of {grpc[0]!r} has no default"
    return int(match.group(1))


def test_cli_defaults_match_the_ports_compose_publishes() -> None:
    assert {name: published_default_port(name) for name in DEFAULT_PORTS} == DEFAULT_PORTS


def test_addresses_resolve_option_then_environment_then_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TELCO360_CLI_PROFILE_ADDR", "profile.example:1")
    monkeypatch.delenv("TELCO360_CLI_SCORING_ADDR", raising=False)
    config = resolve({"ingest": "ingest.example:2"}, var_dir=tmp_path)
    assert config.address("ingest") == "ingest.example:2"
    assert config.address("profile") == "profile.example:1"
    assert config.address("scoring") == f"127.0.0.1:{DEFAULT_PORTS['scoring']}"


def test_token_comes_from_a_file_before_the_environment_and_the_option(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("TELCO360_CLI_TOKEN_FILE", raising=False)
    monkeypatch.setenv("TELCO360_CLI_TOKEN", "from-env")
    assert resolve(var_dir=tmp_path).token == "from-env"
    assert resolve(var_dir=tmp_path, token="from-argv").token == "from-argv"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert resolve(var_dir=tmp_path, token_file=token_file).token == "from-file"
    monkeypatch.setenv("TELCO360_CLI_TOKEN_FILE", str(token_file))
    assert resolve(var_dir=tmp_path).token == "from-file"
    token_file.write_text("rotated")  # read again by the next command
    assert resolve(var_dir=tmp_path).token == "rotated"


@pytest.mark.parametrize("content", ["", "   \n", "two tokens"])
def test_a_token_file_must_hold_one_token(tmp_path, content: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    with pytest.raises(CliError, match="exactly one token"):
        resolve(var_dir=tmp_path, token_file=token_file)
    with pytest.raises(CliError, match="cannot read"):
        resolve(var_dir=tmp_path, token_file=tmp_path / "missing")
    with pytest.raises(CliError, match="not both"):
        resolve(var_dir=tmp_path, token="t", token_file=token_file)
