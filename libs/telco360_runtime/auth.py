"""Bearer-token authentication and role checks.

Tokens map to roles in settings (`auth_tokens`), optionally naming who holds the token:
`{"<token>": "admin"}` or `{"<token>": "admin:alice"}` (role, a colon, the subject). The
caller's identity (subject and role) is bound to each call so audited operations can record
who acted; a token configured without a subject is identified as `token-<8 hex>`, a stable
digest of the token that never reveals it. Roles, from most to least powerful:
admin (everything), analyst (models, tags, segments, reports; personal data masked),
agent (front line: reads profiles with contact data, records interactions, contact checks),
service (service-to-service calls). With no tokens configured authentication is off and
every caller is admin: the development default, logged at start.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping

from telco360_runtime import context
from telco360_runtime.errors import PermissionDenied, Unauthenticated

ROLES = ("admin", "analyst", "agent", "service")
# Roles allowed to see personal data (names, phones, e-mails, notes) unmasked.
PERSONAL_DATA_ROLES = frozenset({"admin", "agent", "service"})
# RPCs that never need a token: infrastructure probes.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


#: Subject of callers when authentication is off (development) or on open methods.
ANONYMOUS = "anonymous"


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who is calling: the subject the token names and the role it grants."""

    role: str
    subject: str

    @property
    def identity(self) -> str:
        """How audit records name the caller, e.g. "alice (admin)"."""
        return f"{self.subject} ({self.role})"


def parse_grant(token: str, grant: str) -> Caller:
    """The caller a configured token grants: "role" or "role:subject"."""
    role, _, subject = grant.partition(":")
    if not subject:
        subject = "token-" + hashlib.sha256(token.encode()).hexdigest()[:8]
    return Caller(role.strip(), subject.strip())


def identify(method: str, metadata: Mapping[str, str], tokens: Mapping[str, str]) -> Caller:
    """Return the caller of a call (role and subject), or raise Unauthenticated."""
    if not tokens or method.startswith(OPEN_METHOD_PREFIXES):
        return Caller("admin" if not tokens else "service", ANONYMOUS)
    header = metadata.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token not in tokens:
        raise Unauthenticated("a valid 'authorization: Bearer <token>' header is required")
    return parse_grant(token, tokens[token])


def authenticate(method: str, metadata: Mapping[str, str], tokens: Mapping[str, str]) -> str:
    """Return the caller's role for a call, or raise Unauthenticated."""
    return identify(method, metadata, tokens).role


def require_role(allowed: Iterable[str]) -> None:
    """Raise PermissionDenied unless the current caller has one of `allowed` (admin always may)."""
    role = context.caller_role()
    if role != "admin" and role not in set(allowed):
        raise PermissionDenied(f"role '{role}' may not perform this operation")


def may_see_personal_data() -> bool:
    """Whether the current caller's role may see personal data unmasked."""
    return context.caller_role() in PERSONAL_DATA_ROLES


def mask(value: str) -> str:
    """Mask personal data for roles that do not need it, keeping a hint of its shape."""
    if not value:
        return value
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]
