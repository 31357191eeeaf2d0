"""The expression language: parsing, positions of errors, types and three-valued evaluation."""

from __future__ import annotations

import pytest

from telco360_expr import ExpressionError, check, parse
from telco360_expr.vector import evaluate, frame_resolver

TYPES = {"fee": "number", "old": "number", "industry": "string", "vip": "bool", "attr.sites": "number"}


def run(expression: str, rows: list[dict]) -> list[bool]:
    checked = check(expression, TYPES)
    return evaluate(checked.tree, len(rows), frame_resolver(rows, TYPES)).tolist()


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("fee >", 5, "expected a value"),
        ("fee > 1 and", 11, "expected a value"),
        ("(fee > 1", 8, "expected ')'"),
        ("fee > 1 $", 8, "unexpected character"),
        ("fee > 'x", 6, "unterminated string"),
        ("fee not 5", 8, "'in' or 'between'"),
        ("fee between 1 or 2", 14, "'and'"),
        ("fee > 1 fee", 8, "expected an operator"),
        ("", 0, "empty expression"),
    ],
)
def test_syntax_errors_name_their_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        check(text, TYPES)
    assert info.value.position == position
    assert fragment in info.value.message
    assert info.value.reason == "EXPRESSION_SYNTAX"


@pytest.mark.parametrize(
    "text, position, reason",
    [
        ("nope > 1", 0, "EXPRESSION_UNKNOWN_NAME"),
        ("fee > 1 and industry > 3", 21, "EXPRESSION_TYPE"),
        ("fee + 1", 4, "EXPRESSION_TYPE"),
        ("pct_change(fee) > 1", 0, "EXPRESSION_TYPE"),
        ("frobnicate(fee) > 1", 0, "EXPRESSION_UNKNOWN_NAME"),
        ("vip and fee", 8, "EXPRESSION_TYPE"),
        ("tag(vip)", 0, "EXPRESSION_UNKNOWN_NAME"),
        ("__import__('os')", 0, "EXPRESSION_UNKNOWN_NAME"),
    ],
)
def test_name_and_type_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        check(text, TYPES)
    assert (info.value.position, info.value.reason) == (position, reason)


def test_precedence_and_operators() -> None:
    tree = parse("a or b and not c")
    assert tree.op == "or" and tree.right.op == "and"
    rows = [
        {"fee": 80, "old": 100, "industry": "GOV", "vip": True, "attr.sites": 3},
        {"fee": 95, "old": 100, "industry": "EDU", "vip": False, "attr.sites": 1},
        {"fee": 10, "old": 0, "industry": None, "vip": None},
    ]
    assert run("pct_change(fee, old) <= -20", rows) == [True, False, False]
    assert run("industry in ('GOV', 'HEALTH')", rows) == [True, False, False]
    assert run("industry not in ('GOV')", rows) == [False, True, False]
    assert run("fee between 80 and 95", rows) == [True, True, False]
    assert run("fee not between 80 and 94", rows) == [False, True, True]
    assert run("fee * 2 - old / 4 >= 135", rows) == [True, True, False]
    assert run("attr.sites >= 2 or vip", rows) == [True, False, False]
    assert run("max(fee, old) = 100 and min(fee, old) < 90", rows) == [True, False, False]
    assert run("coalesce(industry, 'NONE') = 'NONE'", rows) == [False, False, True]
    assert run("is_null(vip)", rows) == [False, False, True]
    assert run("abs(-fee) = 80", rows) == [True, False, False]


def test_three_valued_logic_with_nulls() -> None:
    rows = [{"fee": None, "vip": True}, {"fee": None, "vip": False}, {"fee": 5, "vip": None}]
    assert run("fee > 1", rows) == [False, False, True]
    assert run("not (fee > 1)", rows) == [False, False, False]
    assert run("fee > 1 or vip", rows) == [True, False, True]
    assert run("fee > 1 and not vip", rows) == [False, False, False]
    assert run("fee = null", rows) == [False, False, False]


def test_division_by_zero_is_null() -> None:
    assert run("fee / old > 1", [{"fee": 1, "old": 0}, {"fee": 4, "old": 2}]) == [False, True]


def test_tag_references_only_in_segments() -> None:
    checked = check("tag(vip) and fee > 1", TYPES, allow_tags=True, known_tags={"vip"})
    assert checked.tags == ("vip",) and checked.names == ("fee",)
    with pytest.raises(ExpressionError) as info:
        check("tag(gold)", TYPES, allow_tags=True, known_tags={"vip"})
    assert "unknown tag" in info.value.message
