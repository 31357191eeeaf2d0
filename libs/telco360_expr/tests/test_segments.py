"""The shared membership rule: the same answer for one account and for a column of accounts."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from telco360_expr import check
from telco360_expr.segments import account_matches, member_mask
from telco360_expr.vector import column_from_values

SCHEMA = {"revenue": "number", "industry": "string"}
EXPRESSIONS = [
    "revenue > 100",
    "industry = 'FINANCE'",
    "revenue > 100 and tag('vip')",
    "not (revenue <= 50)",
    "revenue > 100 or industry = 'ENERGY'",
]

account = st.fixed_dictionaries(
    {
        "revenue": st.none() | st.floats(0, 1000, allow_nan=False),
        "industry": st.none() | st.sampled_from(["FINANCE", "ENERGY", "RETAIL"]),
        "vip": st.booleans(),
        "status": st.sampled_from(["ACTIVE", "TERMINATED", "SUSPENDED", None]),
    }
)


@given(st.lists(account, min_size=1, max_size=30), st.sampled_from(EXPRESSIONS), st.booleans())
def test_one_account_and_many_accounts_agree(accounts, text, include_terminated):
    tree = check(text, SCHEMA, allow_tags=True).tree
    n = len(accounts)

    def names(name):
        return column_from_values(SCHEMA[name], [a[name] for a in accounts])

    def tags(tag_id):
        return np.array([a["vip"] and tag_id == "vip" for a in accounts], dtype=bool)

    statuses = np.array([a["status"] or "" for a in accounts], dtype=object)
    many = member_mask(tree, n, names, tags, statuses, include_terminated=include_terminated)
    one = [
        account_matches(
            tree,
            {k: a[k] for k in SCHEMA if a[k] is not None},
            {"vip"} if a["vip"] else set(),
            a["status"],
            SCHEMA,
            include_terminated=include_terminated,
        )
        for a in accounts
    ]
    assert many.tolist() == one


def test_only_active_accounts_match_unless_terminated_are_included():
    tree = check("revenue > 100", SCHEMA, allow_tags=True).tree
    for status, expected in [("ACTIVE", True), ("TERMINATED", False), (None, False), ("", False)]:
        assert account_matches(tree, {"revenue": 500.0}, set(), status, SCHEMA) is expected
        assert account_matches(tree, {"revenue": 500.0}, set(), status, SCHEMA, include_terminated=True)


def test_unknown_value_is_not_a_match():
    tree = check("revenue > 100", SCHEMA, allow_tags=True).tree
    assert not account_matches(tree, {}, set(), "ACTIVE", SCHEMA)
    assert account_matches(check("not (revenue > 100)", SCHEMA).tree, {"revenue": 5.0}, set(), "ACTIVE", SCHEMA)
