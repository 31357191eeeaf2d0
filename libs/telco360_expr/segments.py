"""Who is in a segment: the one membership rule profile (QuerySegment) and contact
(offer eligibility, campaign targets) both apply.

An account is a member when
- the whole expression is true under three-valued logic (unknown is not a match), and
- its status is ACTIVE, unless terminated accounts are asked for explicitly. An account
  whose status is not known is not ACTIVE: it never matches by accident.

`member_mask` answers for many accounts at once (profile's column snapshot);
`account_matches` for one account's facts (contact, per decision). Both end in the same
function, so the two services cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np

from telco360_expr import ast
from telco360_expr.checker import BOOL, NULL, NUMBER, STRING
from telco360_expr.vector import Column, column_from_values, evaluate

ACTIVE = "ACTIVE"

Resolver = Callable[[str], Column]
TagResolver = Callable[[str], np.ndarray]


def member_mask(
    tree: ast.Node | None,
    n: int,
    names: Resolver,
    tags: TagResolver | None,
    statuses: np.ndarray | None,
    *,
    include_terminated: bool = False,
) -> np.ndarray:
    """Members among `n` accounts: the expression's mask (all when `tree` is None) and ACTIVE.

    `statuses` holds each account's status name ("" or None where unknown); it may be None
    only with `include_terminated`.
    """
    mask = evaluate(tree, n, names, tags) if tree is not None else np.ones(n, dtype=bool)
    if include_terminated:
        return mask
    if statuses is None:
        raise ValueError("statuses are needed unless terminated accounts are included")
    return mask & (np.asarray(statuses, dtype=object) == ACTIVE)


def kind_of(value: object) -> str:
    """The expression type of a plain value (when the schema does not say)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    return STRING


def _column(value: object, kind: str | None) -> Column:
    if value is None:
        # A null of no particular kind: comparisons give unknown, arithmetic gives null.
        return Column(NULL, np.zeros(1, dtype=np.float64), np.ones(1, dtype=bool))
    return column_from_values(kind or kind_of(value), [value])


def account_matches(
    tree: ast.Node,
    features: Mapping[str, object],
    tags: Collection[str],
    status: str | None,
    kinds: Mapping[str, str] | None = None,
    *,
    include_terminated: bool = False,
) -> bool:
    """Whether one account is a member: `features` by name (absent = null), its tag ids and status."""
    types = kinds or {}

    def names(name: str) -> Column:
        return _column(features.get(name), types.get(name))

    def tag_column(tag_id: str) -> np.ndarray:
        return np.array([tag_id in tags], dtype=bool)

    statuses = np.array([status or ""], dtype=object)
    return bool(member_mask(tree, 1, names, tag_column, statuses, include_terminated=include_terminated)[0])
