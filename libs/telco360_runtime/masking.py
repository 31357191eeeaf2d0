"""Which personal fields each role sees: the suite's one masking policy (issue #14).

Every answer and export that carries personal data passes each personal field through
`reveal(value, kind)` (or asks `shows(kind)`), with the kind of field it is; the role is the
current call's (telco360_runtime.context, copied into the store's worker threads by
`Database.run`). Outside a call there is no role, and nothing personal is shown.

| kind            | admin, service, account_manager | call_center | analyst, marketing, no role |
|-----------------|---------------------------------|-------------|-----------------------------|
| ACCOUNT_NAME    | shown                           | shown       | masked                      |
| CONTACT_NAME    | shown                           | shown       | masked                      |
| PHONE           | shown                           | shown       | masked                      |
| EMAIL           | shown                           | masked      | masked                      |
| NOTES           | shown                           | masked      | masked                      |
| ATTRIBUTES      | shown                           | masked      | masked                      |

NOTES covers every free text about people (interaction notes, service-event summaries);
ATTRIBUTES the operator attributes a service declares personal (profile's
`personal_attributes`), also where they appear as `attr.<name>` features.

Account managers see their accounts unmasked because every read they make is limited to
their team's accounts. Where a service cannot limit a read to the caller's accounts (the
ingest log and quarantine hold every account), `scoped=False` applies: there only admin and
service see personal data unmasked, and every other role, account managers included, gets
the call centre's view at most.
"""

from __future__ import annotations

from telco360_runtime import context
from telco360_runtime.auth import mask

ACCOUNT_NAME = "account_name"
CONTACT_NAME = "contact_name"
PHONE = "phone"
EMAIL = "email"
NOTES = "notes"
ATTRIBUTES = "attributes"
KINDS = frozenset({ACCOUNT_NAME, CONTACT_NAME, PHONE, EMAIL, NOTES, ATTRIBUTES})

#: What the front line must say or dial: the organisation's and the contact people's names and phones.
FRONT_LINE_KINDS = frozenset({ACCOUNT_NAME, CONTACT_NAME, PHONE})

#: Personal field kinds each role sees unmasked; a role not named here (analyst, marketing, none) sees none.
POLICY: dict[str, frozenset[str]] = {
    "admin": KINDS,
    "service": KINDS,
    "account_manager": KINDS,
    "call_center": FRONT_LINE_KINDS,
}

#: Roles that see everything even where a read covers every account (no account-team scoping).
UNSCOPED_FULL_VIEW = frozenset({"admin", "service"})


def visible_kinds(role: str | None = None, *, scoped: bool = True) -> frozenset[str]:
    """The personal field kinds `role` (default: the current caller's) sees unmasked.

    `scoped=False`: the read is not limited to the caller's accounts (see the module docstring).
    """
    role = context.caller_role() if role is None else role
    kinds = POLICY.get(role, frozenset())
    if not scoped and role not in UNSCOPED_FULL_VIEW:
        kinds = kinds & FRONT_LINE_KINDS if role != "account_manager" else frozenset()
    return kinds


def shows(kind: str, role: str | None = None, *, scoped: bool = True) -> bool:
    """Whether `role` (default: the current caller's) sees fields of `kind` unmasked."""
    return kind in visible_kinds(role, scoped=scoped)


def shows_everything(role: str | None = None, *, scoped: bool = True) -> bool:
    """Whether `role` (default: the current caller's) sees every personal field unmasked."""
    return visible_kinds(role, scoped=scoped) == KINDS


def reveal(value: str, kind: str, role: str | None = None, *, scoped: bool = True) -> str:
    """`value` as `role` (default: the current caller's) may see it: as is, or masked (auth.mask)."""
    return value if shows(kind, role, scoped=scoped) else mask(value)
