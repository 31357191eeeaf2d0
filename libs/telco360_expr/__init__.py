"""The tag and segment expression language: tokenizer, parser, checker and evaluator.

Expressions are parsed into an AST by a recursive-descent parser (never `eval`, depth and
size bounded so no input reaches the recursion limit), checked
against the feature schema (names and types) and evaluated column-wise over many accounts
at once with numpy, using SQL-like three-valued logic (a comparison with null is unknown;
an account matches only when the whole expression is true).
"""

from telco360_expr.checker import CheckedExpression, check
from telco360_expr.errors import (
    EXPRESSION_SYNTAX,
    EXPRESSION_TOO_COMPLEX,
    EXPRESSION_TOO_LONG,
    EXPRESSION_TYPE,
    EXPRESSION_UNKNOWN_NAME,
    REASONS,
    ExpressionError,
)
from telco360_expr.parser import parse

__all__ = [
    "ExpressionError",
    "parse",
    "check",
    "CheckedExpression",
    "REASONS",
    "EXPRESSION_SYNTAX",
    "EXPRESSION_UNKNOWN_NAME",
    "EXPRESSION_TYPE",
    "EXPRESSION_TOO_COMPLEX",
    "EXPRESSION_TOO_LONG",
]
