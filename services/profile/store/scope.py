"""Account-team scoping: which accounts an account manager (or a team lead) may see.

A scope is the set of account-manager ids whose accounts a caller may see (None: every
account; see telco360_runtime.context.caller_scope). An account is in a scope when its
merged master data names one of those managers (`accounts.account_manager_id`, indexed)
and it is not erased. Listings filter with `in_scope_clause` inside their query, so pages
stay full and page tokens stay valid.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.profile.store.codec import chunks
from services.profile.store.models import Account

Scope = frozenset[str] | None


def in_scope_clause(column: InstrumentedAttribute[str], scope: frozenset[str]) -> ColumnElement[bool]:
    """`column` (a customer id) names a live account of a manager in `scope`."""
    return column.in_(
        select(Account.customer_id).where(Account.account_manager_id.in_(sorted(scope)), Account.erased.is_(False))
    )


def visible(s: Session | Connection, customer_ids: Iterable[str], scope: Scope) -> set[str]:
    """The accounts among `customer_ids` the scope may see (all of them when `scope` is None)."""
    ids = sorted(set(customer_ids))
    if scope is None:
        return set(ids)
    out: set[str] = set()
    for part in chunks(ids):
        out.update(
            s.execute(
                select(Account.customer_id).where(
                    Account.customer_id.in_(part),
                    Account.account_manager_id.in_(sorted(scope)),
                    Account.erased.is_(False),
                )
            ).scalars()
        )
    return out


def ids_in_scope(s: Session | Connection, scope: frozenset[str]) -> list[str]:
    """Every live account of the scope's managers, in customer_id order."""
    return list(
        s.execute(
            select(Account.customer_id)
            .where(Account.account_manager_id.in_(sorted(scope)), Account.erased.is_(False))
            .order_by(Account.customer_id)
        ).scalars()
    )
