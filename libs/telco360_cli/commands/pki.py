"""`telco360 pki init`: a development PKI (local CA, service and CLI certificates, JWT keys and tokens)."""

from __future__ import annotations

import pathlib

import typer

from telco360_cli.console import console
from telco360_runtime import devpki

pki_app = typer.Typer(help="Development certificates and tokens (never for production).", no_args_is_help=True)


@pki_app.command("init")
def init(
    out: pathlib.Path = typer.Option(pathlib.Path("var/pki"), help="directory to write the PKI into"),
    force: bool = typer.Option(False, help="make a new CA, certificates, signing key and tokens"),
) -> None:
    """Write ca.pem, <svc>.pem/.key, cli.pem/.key, jwt-keys.pem and tokens/*.jwt (existing ones are kept)."""
    pki = devpki.create(out, force=force)
    console.print(f"development PKI in {pki.root} (keys and tokens mode 0600)")
    console.print(f"  CA            {pki.ca_file}")
    console.print(f"  services      {', '.join(f'{svc}.pem' for svc in devpki.SERVICES)} (+ .key)")
    console.print(f"  CLI           {pki.cert_file(devpki.CLIENT_NAME)} (+ .key)")
    console.print(f"  JWT keys      {pki.jwt_keys_file} (signing key {pki.jwt_signing_key.name})")
    console.print(f"  tokens        {pki.root / 'tokens'}: {', '.join([*devpki.SERVICES, *devpki.USER_SUBJECTS])}")
    console.print(
        "  CLI use       TELCO360_CLI_TLS_CA=ca.pem TELCO360_CLI_TLS_CERT=cli.pem TELCO360_CLI_TLS_KEY=cli.key"
        " TELCO360_CLI_TOKEN_FILE=tokens/admin.jwt"
    )


def register(app: typer.Typer) -> None:
    """Add the command group to the application."""
    app.add_typer(pki_app, name="pki")
