"""`telco360 token mint` signs tokens the services accept, and refuses what they would not."""

from __future__ import annotations

import pathlib
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from telco360_cli.app import app
from telco360_cli.errors import CliError
from telco360_runtime import auth


def _keys(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = tmp_path / "signing.key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = tmp_path / "keys.pem"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def test_a_minted_token_is_accepted_by_the_named_services_only(tmp_path: pathlib.Path) -> None:
    private, public = _keys(tmp_path)
    out = tmp_path / "lead.jwt"
    args = ["token", "mint", "--signing-key", str(private), "--subject", "AM1001", "--role", "account_manager"]
    result = CliRunner().invoke(
        app, [*args, "--team", "AM1002", "--audience", "profile", "--audience", "contact", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text().strip()
    for service, accepted in (("profile", True), ("contact", True), ("scoring", False)):
        verifier = auth.JwtAuthenticator(auth.KeyFile(str(public)), issuer="telco360", audience=service)
        try:
            caller = verifier.identify("/x.Y/Z", {"authorization": f"Bearer {token}"})
        except auth.Unauthenticated:
            assert not accepted, service
        else:
            assert accepted and caller.scope == frozenset({"AM1001", "AM1002"}), service


def test_unknown_roles_and_misplaced_teams_are_refused(tmp_path: pathlib.Path) -> None:
    private, _ = _keys(tmp_path)
    base = ["token", "mint", "--signing-key", str(private), "--subject", "x"]
    for extra in (["--role", "root"], ["--role", "analyst", "--team", "AM1"]):
        result = CliRunner().invoke(app, [*base, *extra])
        # A CliError: the user is told in words (main() prints it; exit status 1).
        assert result.exit_code != 0 and isinstance(result.exception, CliError), extra
    result = CliRunner().invoke(
        app, ["token", "mint", "--signing-key", str(tmp_path / "none"), "--subject", "x", "--role", "analyst"]
    )
    assert isinstance(result.exception, CliError) and "cannot sign" in str(result.exception)
