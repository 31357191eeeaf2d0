"""The one masking policy (telco360_runtime.masking): which role sees which kind of personal field."""

from __future__ import annotations

import contextvars

from hypothesis import given
from hypothesis import strategies as st

from telco360_runtime import context, masking
from telco360_runtime.auth import ROLES, mask

KINDS = sorted(masking.KINDS)
ALL_ROLES = [*ROLES, "", "agent"]  # no role (outside a call) and a role that no longer exists

EXPECTED = {
    "admin": set(KINDS),
    "service": set(KINDS),
    "account_manager": set(KINDS),
    "call_center": {masking.ACCOUNT_NAME, masking.CONTACT_NAME, masking.PHONE},
}


@given(role=st.sampled_from(ALL_ROLES), kind=st.sampled_from(KINDS), value=st.text(max_size=40))
def test_each_role_sees_exactly_its_kinds_and_everything_else_masked(role: str, kind: str, value: str) -> None:
    shown = kind in EXPECTED.get(role, set())
    assert masking.shows(kind, role) is shown
    assert masking.reveal(value, kind, role) == (value if shown else mask(value))
    assert len(masking.reveal(value, kind, role)) == len(value)


@given(role=st.sampled_from(ALL_ROLES), kind=st.sampled_from(KINDS))
def test_unscoped_reads_show_everything_to_admin_and_service_only(role: str, kind: str) -> None:
    shown = masking.shows(kind, role, scoped=False)
    if role in ("admin", "service"):
        assert shown
    elif role == "call_center":
        assert shown is (kind in EXPECTED["call_center"])
    else:  # account managers included: the read is not limited to their accounts
        assert not shown


def test_the_callers_role_decides_and_no_role_sees_nothing() -> None:
    def as_caller(role: str) -> tuple[bool, bool]:
        context.set_caller(role, "someone")
        return masking.shows(masking.PHONE), masking.shows_everything()

    assert contextvars.copy_context().run(as_caller, "call_center") == (True, False)
    assert contextvars.copy_context().run(as_caller, "admin") == (True, True)
    assert contextvars.copy_context().run(lambda: masking.shows(masking.ACCOUNT_NAME)) is False
