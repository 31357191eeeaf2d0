"""The error raised for a bad expression, carrying the character position of the fault."""

from __future__ import annotations


class ExpressionError(ValueError):
    """A syntax, name or type error at a 0-based character position of the expression."""

    def __init__(self, position: int, message: str, reason: str = "EXPRESSION_SYNTAX") -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.message = message
        self.reason = reason
