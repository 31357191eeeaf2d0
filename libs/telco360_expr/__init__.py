"""The tag and segment expression language: tokenizer, parser, checker and evaluator.

Expressions are parsed into an AST by a recursive-descent parser (never `eval`), checked
against the feature schema (names and types) and evaluated column-wise over many accounts
at once with numpy, using SQL-like three-valued logic (a comparison with null is unknown;
an account matches only when the whole expression is true).
"""

from telco360_expr.errors import ExpressionError
from telco360_expr.parser import parse
from telco360_expr.checker import CheckedExpression, check

__all__ = ["ExpressionError", "parse", "check", "CheckedExpression"]
