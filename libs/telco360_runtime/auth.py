"""Bearer-token authentication and role checks.

Tokens map to roles in settings (`auth_tokens`). Roles, from most to least powerful:
admin (everything), analyst (models, tags, segments, reports; personal data masked),
agent (front line: reads profiles with contact data, records interactions, contact checks),
service (service-to-service calls). With no tokens configured authentication is off and
every caller is admin: the development default, logged at start.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from telco360_runtime import context
from telco360_runtime.errors import PermissionDenied, Unauthenticated

ROLES = ("admin", "analyst", "agent", "service")
# Roles allowed to see personal data (names, phones, e-mails, notes) unmasked.
PERSONAL_DATA_ROLES = frozenset({"admin", "agent", "service"})
# RPCs that never need a token: infrastructure probes.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def authenticate(method: str, metadata: Mapping[str, str], tokens: Mapping[str, str]) -> str:
    """Return the caller's role for a call, or raise Unauthenticated."""
    if not tokens or method.startswith(OPEN_METHOD_PREFIXES):
        return "admin" if not tokens else "service"
    header = metadata.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token not in tokens:
        raise Unauthenticated("a valid 'authorization: Bearer <token>' header is required")
    return tokens[token]


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
