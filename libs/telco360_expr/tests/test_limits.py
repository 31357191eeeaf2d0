"""Size limits of the expression language: no text, however deep or long, escapes as
anything but an ExpressionError with one of the shared reason codes and its position."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telco360_expr import (
    EXPRESSION_TOO_COMPLEX,
    EXPRESSION_TOO_LONG,
    REASONS,
    ExpressionError,
    ast,
    check,
    parse,
)
from telco360_expr.lexer import MAX_LENGTH
from telco360_expr.parser import MAX_DEPTH, MAX_NODES
from telco360_expr.vector import evaluate, frame_resolver

TYPES = {"fee": "number", "old": "number", "industry": "string", "vip": "bool"}
ROWS = [{"fee": 5.0, "old": 1.0, "industry": "GOV", "vip": True}, {"fee": None, "old": 0.0, "industry": None}]


def height(node: ast.Node) -> int:
    """Tree height, iteratively."""
    best, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        best = max(best, level)
        stack.extend((child, level + 1) for child in ast.children(current))
    return best


def assert_clean(error: ExpressionError, text: str) -> None:
    assert error.reason in REASONS
    assert 0 <= error.position <= max(len(text), MAX_LENGTH)
    assert str(error) == f"position {error.position}: {error.message}"
    assert "position" not in error.message


def test_issue_case_long_flat_sum_is_too_complex_not_recursion() -> None:
    text = "1+" * 1995 + "1 > 0"
    assert len(text) < MAX_LENGTH
    with pytest.raises(ExpressionError) as info:
        check(text, TYPES)
    assert info.value.reason == EXPRESSION_TOO_COMPLEX
    # Refused at the operator where the chain passes the limit, not somewhere at random.
    assert info.value.position == 2 * MAX_DEPTH - 1
    assert_clean(info.value, text)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "1" + ")" * 3000,
        "not " * 900 + "vip",
        "-" * 3900 + "1 > 0",
        "abs(" * 900 + "1" + ")" * 900 + " > 0",
        "fee * " * 600 + "1 > 0",
        "fee / 2 - " * 350 + "1 > 0",
        "coalesce(" * 500 + "fee" + ")" * 500 + " > 1",
        "fee between " * 400 + "1 and 2",
        "1 in (" + ",".join(["1"] * (MAX_NODES + 10)) + ")",
    ],
)
def test_deep_and_long_forms_answer_too_complex(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        check(text, TYPES)
    assert info.value.reason in (EXPRESSION_TOO_COMPLEX, EXPRESSION_TOO_LONG)
    assert_clean(info.value, text)


def test_too_long_has_its_own_reason() -> None:
    with pytest.raises(ExpressionError) as info:
        check("fee > 1 or " * 500 + "vip", TYPES)
    assert info.value.reason == EXPRESSION_TOO_LONG


def test_long_lists_of_conditions_stay_shallow_and_evaluate_the_same() -> None:
    conditions = [f"fee > {i}" for i in range(250)] + ["vip"]
    text = " or ".join(conditions)
    tree = check(text, TYPES).tree
    assert height(tree) <= 12
    assert evaluate(tree, 2, frame_resolver(ROWS, TYPES)).tolist() == [True, False]
    anded = check(" and ".join(conditions[:200]), TYPES).tree
    assert evaluate(anded, 2, frame_resolver(ROWS, TYPES)).tolist() == [False, False]
    # Reading order is kept: the first bad operand is the one reported.
    with pytest.raises(ExpressionError) as info:
        check("vip or vip or fee or industry", TYPES)
    assert info.value.position == len("vip or vip or ")


def test_precedence_survives_balancing() -> None:
    tree = parse("a or b and c and d or e")
    assert tree.op == "or"
    ands = [n for n in ast.walk(tree) if isinstance(n, ast.Binary) and n.op == "and"]
    assert len(ands) == 2
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.Name)]
    assert names == ["a", "b", "c", "d", "e"]


def test_at_the_limit_is_accepted() -> None:
    text = "fee" + " + fee" * (MAX_DEPTH - 2) + " > 0"
    assert height(parse(text)) == MAX_DEPTH
    assert evaluate(check(text, TYPES).tree, 2, frame_resolver(ROWS, TYPES)).tolist() == [True, False]


def test_full_width_digits_are_not_numbers() -> None:
    with pytest.raises(ExpressionError) as info:
        check("fee > １００", TYPES)
    assert info.value.position == 6


# -- generated: random shapes of every construct, deep and long ---------------------------

WRAPPERS = [
    "({})",
    "not ({})",
    "-({})",
    "abs({})",
    "coalesce({}, 1)",
    "is_null({})",
    "({}) > 1",
    "({}) in (1, 2)",
    "({}) between 1 and 2",
    "fee + ({})",
    "({}) * 2",
    "({}) or vip",
    "vip and ({})",
    "max({}, fee, 3)",
    "tag(x) or ({})",
]
LEAVES = ["1", "fee", "vip", "'x'", "null", "true", "industry", "fee > 1", "nope", "-2.5e3"]
CHAIN_OPS = [" + ", " - ", " * ", " / ", " and ", " or ", " = ", ", ", " "]


@st.composite
def shaped_expressions(draw: st.DrawFn) -> str:
    leaf = draw(st.sampled_from(LEAVES))
    text = leaf
    for wrapper in draw(st.lists(st.sampled_from(WRAPPERS), max_size=150)):
        text = wrapper.format(text)
    if draw(st.booleans()):
        op = draw(st.sampled_from(CHAIN_OPS))
        count = draw(st.integers(0, 2100))
        text = op.join([text] + [draw(st.sampled_from(LEAVES))] * count)
    if draw(st.booleans()):
        text += draw(st.sampled_from([" > 0", ")", "(", " and", "", " $"]))
    return text


TOKENS = st.sampled_from(
    [
        "(",
        ")",
        "not ",
        "-",
        "+",
        "*",
        "/",
        " and ",
        " or ",
        "fee",
        "vip",
        "1",
        ",",
        " in (",
        " between ",
        "abs(",
        "'s'",
        "tag(",
        " > ",
        "=",
        ".",
        "e",
        "\\",
        "'",
    ]
)


def assert_only_expression_errors(text: str, allow_tags: bool) -> None:
    try:
        checked = check(text, TYPES, allow_tags=allow_tags)
    except ExpressionError as error:
        assert_clean(error, text)
        return
    assert height(checked.tree) <= MAX_DEPTH
    assert sum(1 for _ in ast.walk(checked.tree)) <= MAX_NODES
    mask = evaluate(checked.tree, len(ROWS), frame_resolver(ROWS, TYPES), lambda tag: np.array([True, False]))
    assert len(mask) == len(ROWS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped_expressions(), st.booleans())
def test_random_deep_and_long_shapes_raise_only_expression_errors(text: str, allow_tags: bool) -> None:
    assert_only_expression_errors(text, allow_tags)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=1500).map("".join), st.booleans())
def test_random_token_soup_raises_only_expression_errors(text: str, allow_tags: bool) -> None:
    assert_only_expression_errors(text, allow_tags)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_only_expression_errors(text: str) -> None:
    assert_only_expression_errors(text, False)
