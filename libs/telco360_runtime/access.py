"""Role tables: which roles may call each RPC, and how large its request may be.

Each service declares one table in `api/access.py` (method name -> Access) and hands it to
`Registration`; the server interceptor enforces it before any handler runs. A method with
no entry is refused (PERMISSION_DENIED), so a new RPC is closed until someone decides who
may call it; tests/test_access.py fails on such a method. Admin may call everything.

Sizes: the server's `max_message_mb` bounds every message; `max_request_kb` is the bound
that fits the method (a single record, an id lookup, a batch), checked on every request
message before it is decoded, so an oversized request costs no parsing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from telco360_runtime.auth import ROLES

#: Default bound on one request message: ample for any lookup or a single record.
DEFAULT_REQUEST_KB = 256


@dataclasses.dataclass(frozen=True)
class Access:
    """Who may call a method (besides admin) and the largest request message it takes."""

    roles: frozenset[str]
    max_request_kb: int = DEFAULT_REQUEST_KB

    def allows(self, role: str) -> bool:
        """Whether `role` may call the method."""
        return role == "admin" or role in self.roles


def allow(*roles: str, max_request_kb: int = DEFAULT_REQUEST_KB) -> Access:
    """An entry for a role table; unknown roles fail at import, not at the first call."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)} in a role table; roles are {', '.join(ROLES)}")
    return Access(frozenset(roles), max_request_kb)


ADMIN_ONLY = allow()

AccessTable = Mapping[str, Access]


def qualified(service_name: str, table: AccessTable) -> dict[str, Access]:
    """The table keyed by full gRPC method ("/pkg.Service/Method"), as the interceptor sees calls."""
    return {f"/{service_name}/{method}": access for method, access in table.items()}


def roles_allowed(table: AccessTable, method: str) -> frozenset[str]:
    """Every role that may call `method` (admin included), for documentation and tests."""
    return frozenset({"admin", *table[method].roles})


def merge(tables: Iterable[dict[str, Access]]) -> dict[str, Access]:
    """One lookup for all the services a server registers."""
    merged: dict[str, Access] = {}
    for table in tables:
        merged.update(table)
    return merged
