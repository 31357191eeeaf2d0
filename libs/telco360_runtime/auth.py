"""Who is calling: signed identities (JWT), static development tokens, roles and masking.

Three modes (`ServiceSettings.auth_mode`, derived when left empty):
- **jwt** (production): `authorization: Bearer <JWT>` signed by a key in `jwt_keys_file`
  (PEM public keys or a JWKS document, re-read when the file changes, so keys rotate
  without a restart). Issuer, audience (the service's name by default), expiry (required)
  and signature are checked; claims `sub` (who), `role` (one of ROLES) and, for account
  managers, `team` (manager ids whose accounts they may also see, e.g. a team lead's).
- **static** (development only): `auth_tokens` maps an opaque token to a grant
  "role[:subject[:team,ids]]"; a grant without a subject is named `token-<8 hex>`, a
  digest that never reveals the token.
- **off**: every caller is admin (the development default; logged at start).

Roles: admin (everything); service (peers' calls); analyst (features, segments, models,
reports; personal data masked); marketing (policies, offers, campaigns; personal data
masked); account_manager (only the accounts assigned to them or their team; personal data
of those accounts shown); call_center (next-best-offer and contact; personal data masked
except contact people's names and phones, what an agent must say). What each role may call
is each service's role table (api/access.py), enforced by the interceptor (access.py); what
each role sees of personal fields is masking.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import jwt

from telco360_runtime import context
from telco360_runtime.errors import PermissionDenied, Unauthenticated

ROLES = ("admin", "service", "analyst", "marketing", "account_manager", "call_center")
#: The role whose reads are limited to the accounts of its team (context.caller_scope()).
SCOPED_ROLE = "account_manager"
# RPCs that never need a token: infrastructure probes.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
#: JWT signature algorithms accepted (asymmetric only: a service holds no signing secret).
JWT_ALGORITHMS = ("EdDSA", "RS256", "ES256")

#: Subject of callers when authentication is off (development) or on open methods.
ANONYMOUS = "anonymous"

_MISSING = "a valid 'authorization: Bearer <token>' header is required"


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who is calling: the subject the token names, the role it grants and, for account
    managers, the manager ids whose accounts they may see (None: not scoped)."""

    role: str
    subject: str
    scope: frozenset[str] | None = None

    @property
    def identity(self) -> str:
        """How audit records name the caller, e.g. "alice (admin)"."""
        return f"{self.subject} ({self.role})"


def _scope_for(role: str, subject: str, team: Iterable[str]) -> frozenset[str] | None:
    if role != SCOPED_ROLE:
        return None
    return frozenset({subject, *(member.strip() for member in team if member.strip())})


class Authenticator(Protocol):
    """Turns a call's metadata into its caller, or raises Unauthenticated."""

    mode: str

    def identify(self, method: str, metadata: Mapping[str, str]) -> Caller: ...


def _bearer(metadata: Mapping[str, str]) -> str:
    scheme, _, token = metadata.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(_MISSING)
    return token.strip()


class NoAuthentication:
    """Authentication off: every caller is admin (development)."""

    mode = "off"

    def identify(self, method: str, metadata: Mapping[str, str]) -> Caller:
        return Caller("admin", ANONYMOUS)


def parse_grant(token: str, grant: str) -> Caller:
    """The caller a configured static token grants: "role", "role:subject" or "role:subject:team,ids"."""
    role, _, rest = grant.partition(":")
    subject, _, team = rest.partition(":")
    role, subject = role.strip(), subject.strip()
    if not subject:
        subject = "token-" + hashlib.sha256(token.encode()).hexdigest()[:8]
    return Caller(role, subject, _scope_for(role, subject, team.split(",") if team else ()))


class StaticTokens:
    """Opaque tokens from settings (development and tests; no expiry, no rotation)."""

    mode = "static"

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._callers = {token: parse_grant(token, grant) for token, grant in tokens.items()}

    def identify(self, method: str, metadata: Mapping[str, str]) -> Caller:
        if method.startswith(OPEN_METHOD_PREFIXES):
            return Caller("service", ANONYMOUS)
        caller = self._callers.get(_bearer(metadata))
        if caller is None:
            raise Unauthenticated(_MISSING)
        return caller


class KeyFile:
    """Verification keys kept in a file (PEM public keys, or a JWKS JSON document), re-read
    when the file changes: at most one stat per `check_every_s`, so a rotated key takes
    effect within a second and no restart is needed."""

    def __init__(self, path: str, *, check_every_s: float = 1.0) -> None:
        self.path = path
        self._check_every = check_every_s
        self._checked_at = -1e18
        self._seen: tuple[int, int] | None = None
        self._keys: list[tuple[str | None, Any]] = []
        self._lock = threading.Lock()
        self.version = 0
        self.keys()  # a missing or unreadable file fails the start, not the first call

    def keys(self) -> list[tuple[str | None, Any]]:
        """(kid or None, key) pairs currently trusted."""
        now = time.monotonic()
        if now - self._checked_at < self._check_every:
            return self._keys
        with self._lock:
            self._checked_at = now
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._seen:
                with open(self.path, "rb") as fh:
                    self._keys = parse_keys(fh.read())
                self._seen = stamp
                self.version += 1
        return self._keys


def parse_keys(data: bytes) -> list[tuple[str | None, Any]]:
    """Public keys from a JWKS document or from concatenated PEM blocks."""
    text = data.decode("utf-8").strip()
    if text.startswith("{"):
        jwks = jwt.PyJWKSet.from_dict(json.loads(text))
        return [(key.key_id, key.key) for key in jwks.keys]
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    marker = "-----END PUBLIC KEY-----"
    blocks = [block + marker for block in text.split(marker) if block.strip()]
    keys: list[tuple[str | None, Any]] = [(None, load_pem_public_key(block.strip().encode())) for block in blocks]
    if not keys:
        raise ValueError("the JWT keys file holds no public key")
    return keys


class JwtAuthenticator:
    """Verifies signed JWTs: signature by a trusted key, issuer, audience, expiry, known role.

    Verified tokens are remembered until they expire (or the keys change), so a caller
    reusing its token costs a dictionary lookup, not a signature check, per call.
    """

    mode = "jwt"
    _CACHE_MAX = 4096

    def __init__(self, keys: KeyFile, *, issuer: str, audience: str, leeway_s: float = 30.0) -> None:
        self._keys = keys
        self.issuer, self.audience, self.leeway = issuer, audience, leeway_s
        self._cache: dict[str, tuple[Caller, float, int]] = {}

    def identify(self, method: str, metadata: Mapping[str, str]) -> Caller:
        if method.startswith(OPEN_METHOD_PREFIXES):
            return Caller("service", ANONYMOUS)
        token = _bearer(metadata)
        keys = self._keys.keys()
        hit = self._cache.get(token)
        if hit is not None and hit[2] == self._keys.version and time.time() < hit[1] + self.leeway:
            return hit[0]
        caller, expires = self.verify(token, keys)
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[token] = (caller, expires, self._keys.version)
        return caller

    def verify(self, token: str, keys: list[tuple[str | None, Any]]) -> tuple[Caller, float]:
        """The caller a token names and its expiry, or Unauthenticated saying what is wrong."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        kid, algorithm = header.get("kid"), header.get("alg")
        if algorithm not in JWT_ALGORITHMS:
            raise Unauthenticated(f"the token's algorithm is not accepted (accepted: {', '.join(JWT_ALGORITHMS)})")
        candidates = [
            key for key_id, key in keys if (kid is None or key_id in (None, kid)) and _key_algorithm(key) == algorithm
        ]
        claims: dict[str, Any] | None = None
        reason = "the token's signature matches no trusted key"
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=self.leeway,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise Unauthenticated("the token has expired") from None
            except jwt.InvalidAudienceError:
                raise Unauthenticated(f"the token is not meant for this service (audience {self.audience!r})") from None
            except jwt.InvalidIssuerError:
                raise Unauthenticated("the token's issuer is not trusted") from None
            except jwt.PyJWTError as error:
                reason = f"the token is not valid: {type(error).__name__}"
                break
        if claims is None:
            raise Unauthenticated(reason)
        role, subject = claims.get("role"), claims.get("sub")
        if not isinstance(role, str) or role not in ROLES:
            raise Unauthenticated("the token grants no known role")
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthenticated("the token names no subject")
        team = claims.get("team") or []
        if not isinstance(team, list) or not all(isinstance(member, str) for member in team):
            raise Unauthenticated("the token's team claim must be a list of account manager ids")
        return Caller(role, subject, _scope_for(role, subject, team)), float(claims["exp"])


def _key_algorithm(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256"
    return ""


def authenticator_for(
    mode: str, *, tokens: Mapping[str, str], keys_file: str, issuer: str, audience: str, leeway_s: float
) -> Authenticator:
    """The authenticator a service's settings ask for (see module docstring)."""
    if mode == "jwt":
        return JwtAuthenticator(KeyFile(keys_file), issuer=issuer, audience=audience, leeway_s=leeway_s)
    if mode == "static":
        return StaticTokens(tokens)
    return NoAuthentication()


def require_role(allowed: Iterable[str]) -> None:
    """Raise PermissionDenied unless the current caller has one of `allowed` (admin always may)."""
    role = context.caller_role()
    if role != "admin" and role not in set(allowed):
        raise PermissionDenied(f"role '{role or 'none'}' may not perform this operation")


def mask(value: str) -> str:
    """Mask personal data for roles that do not need it, keeping a hint of its shape."""
    if not value:
        return value
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]
