"""Minting Telco360 JWTs: the claims auth.JwtAuthenticator checks, signed with a private key.

Operators normally take tokens from their identity provider (any that signs with EdDSA,
RS256 or ES256 and can add the `role` and `team` claims); this is for the development PKI
(devpki.py), the demo, tests, and services' own identities where no provider exists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from telco360_runtime.auth import ROLES


def algorithm_for(key: Any) -> str:
    """The JWT algorithm for a private key (Ed25519: EdDSA, RSA: RS256, P-256: ES256)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    raise ValueError(f"unsupported signing key type {type(key).__name__}")


def mint(
    private_key_pem: bytes,
    *,
    subject: str,
    role: str,
    audience: str | list[str],
    issuer: str = "telco360",
    ttl_seconds: int = 3600,
    team: Sequence[str] = (),
    kid: str | None = None,
    now: float | None = None,
) -> str:
    """A signed token naming `subject` with `role` for `audience`, valid `ttl_seconds`."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    key = load_pem_private_key(private_key_pem, password=None)
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "role": role,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if team:
        claims["team"] = list(team)
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm_for(key), headers=headers)  # type: ignore[arg-type]
