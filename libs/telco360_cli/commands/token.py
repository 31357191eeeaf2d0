"""`telco360 token mint`: sign a JWT for a person or a service with a private key.

For operators without an identity provider that can add Telco360's `role` and `team`
claims, for rotating services' own tokens, and for the development PKI's users.
"""

from __future__ import annotations

import os
import pathlib

import typer

from telco360_cli.console import console
from telco360_cli.errors import CliError
from telco360_runtime import jwt_tokens
from telco360_runtime.auth import ROLES

token_app = typer.Typer(help="Signed tokens (JWT) for people and services.", no_args_is_help=True)

SERVICES = ("ingest", "profile", "scoring", "contact")


@token_app.command("mint")
def mint(
    signing_key: pathlib.Path = typer.Option(..., help="PEM private key (Ed25519, RSA or P-256)"),
    subject: str = typer.Option(..., help="who the token names (an account manager's id for account_manager)"),
    role: str = typer.Option(..., help=f"one of: {', '.join(ROLES)}"),
    audience: list[str] = typer.Option(list(SERVICES), help="services that accept the token (repeat)"),
    team: list[str] = typer.Option([], help="account_manager only: further manager ids whose accounts it sees"),
    ttl: int = typer.Option(3600, min=60, max=90 * 86400, help="seconds until the token expires"),
    issuer: str = typer.Option("telco360", help="the `iss` the services expect (…_JWT_ISSUER)"),
    kid: str | None = typer.Option(None, help="key id, when the services trust a JWKS document"),
    out: pathlib.Path | None = typer.Option(None, help="write the token to this file (mode 0600) instead of stdout"),
) -> None:
    """Print (or write) a signed token."""
    if role not in ROLES:
        raise CliError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if team and role != "account_manager":
        raise CliError("--team is for account_manager tokens only")
    try:
        key = signing_key.read_bytes()
        token = jwt_tokens.mint(
            key, subject=subject, role=role, audience=list(audience), issuer=issuer, ttl_seconds=ttl, team=team, kid=kid
        )
    except (OSError, ValueError, TypeError) as error:
        raise CliError(f"cannot sign with {signing_key}: {type(error).__name__}: {error}") from None
    if out is None:
        typer.echo(token)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    console.print(f"{role} token for {subject} written to {out} (expires in {ttl} s)")


def register(app: typer.Typer) -> None:
    """Add the command group to the application."""
    app.add_typer(token_app, name="token")
