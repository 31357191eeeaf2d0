"""The error raised for a bad expression and the reason codes every service reports for it.

One vocabulary for the expression language across the suite (profile's tag rules and
segments, contact's offer eligibility and campaign targets): a violation about an
expression carries one of the reason codes below in `google.rpc.BadRequest.FieldViolation`.
"""

from __future__ import annotations

# --- reason codes (FieldViolation.reason) -----------------------------------------------
EXPRESSION_SYNTAX = "EXPRESSION_SYNTAX"
"""The text does not parse (unexpected character, missing operand or parenthesis, ...)."""
EXPRESSION_UNKNOWN_NAME = "EXPRESSION_UNKNOWN_NAME"
"""A feature, attribute, function or tag the schema does not know (or tag() outside segments)."""
EXPRESSION_TYPE = "EXPRESSION_TYPE"
"""Operands of the wrong type, a wrong argument count, or a rule that is not true/false."""
EXPRESSION_TOO_COMPLEX = "EXPRESSION_TOO_COMPLEX"
"""Nested deeper, or made of more parts, than the language allows (see parser.MAX_DEPTH)."""
EXPRESSION_TOO_LONG = "EXPRESSION_TOO_LONG"
"""Longer than the language allows (see lexer.MAX_LENGTH)."""

REASONS = frozenset(
    {EXPRESSION_SYNTAX, EXPRESSION_UNKNOWN_NAME, EXPRESSION_TYPE, EXPRESSION_TOO_COMPLEX, EXPRESSION_TOO_LONG}
)
"""Every reason an ExpressionError may carry."""


class ExpressionError(ValueError):
    """A syntax, name, type or size error at a 0-based character position of the expression.

    `message` is the fault in words without the position; `str(error)` is
    "position N: message" (said once: callers show `str(error)` as it is).
    """

    def __init__(self, position: int, message: str, reason: str = EXPRESSION_SYNTAX) -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.message = message
        self.reason = reason
