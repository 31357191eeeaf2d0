"""`telco360 erase` routing and failures in words (the real-server test is services/profile/tests/test_erase_cli.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from telco360_cli.app import app
from telco360_runtime.testing import free_port


def _run(*args: str):
    return CliRunner().invoke(app, ["--profile-addr", f"127.0.0.1:{free_port()}", "--timeout", "2", "erase", *args])


def test_an_account_is_the_request_command_and_a_down_profile_is_said_in_words() -> None:
    for argv in (("KA1", "--reason", "r"), ("request", "KA1", "--reason", "r"), ("status", "KA1"), ("list",)):
        result = _run(*argv)
        assert result.exit_code == 1, (argv, result.output)
        assert "UNAVAILABLE" in result.output and "services status" in result.output


def test_usage_errors() -> None:
    assert _run("KA1").exit_code == 2  # --reason is required
    assert _run("reactivate", "KA1").exit_code == 2
    listed = _run("--help")
    assert listed.exit_code == 0 and all(c in listed.output for c in ("request", "status", "list", "reactivate"))
