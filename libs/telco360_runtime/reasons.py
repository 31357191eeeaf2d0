"""The catalogue of field-violation reasons (google.rpc.BadRequest.FieldViolation.reason).

Every service answers bad input with one of these codes, so a client in any language
can switch on a small, documented set. A code says *what kind* of problem a field has;
the field path and the description say where and why. Services import the constants
from here (tests/test_architecture.py rejects reason literals outside this module).
"""

from __future__ import annotations

# --- shape of a value --------------------------------------------------------------------
REQUIRED = "REQUIRED"  # missing or empty where a value is needed
TOO_LONG = "TOO_LONG"  # text longer than its limit
TOO_MANY = "TOO_MANY"  # more items than a list allows
OUT_OF_RANGE = "OUT_OF_RANGE"  # a number, time or size outside its documented range
UNKNOWN_ENUM = "UNKNOWN_ENUM"  # an enum number the contract does not define (or UNSPECIFIED)
BAD_FORMAT = "BAD_FORMAT"  # text that does not parse: ids, codes, dates, page tokens, CSV cells
NOT_FINITE = "NOT_FINITE"  # NaN or infinity
UNDECODABLE = "UNDECODABLE"  # bytes that are not a message / not UTF-8
DUPLICATE = "DUPLICATE"  # the same item twice where items must be distinct
ONE_OF = "ONE_OF"  # exactly one of several fields must be set
INCONSISTENT = "INCONSISTENT"  # fields that contradict each other (from after to, a range upside down)

# --- references -----------------------------------------------------------------------------
UNKNOWN_ID = "UNKNOWN_ID"  # names something this service does not have (offer, policy, column)
STALE = "STALE"  # a token or version from another listing or an older state

# --- expressions (telco360_expr) ----------------------------------------------------------------
EXPRESSION_SYNTAX = "EXPRESSION_SYNTAX"
EXPRESSION_UNKNOWN_NAME = "EXPRESSION_UNKNOWN_NAME"
EXPRESSION_TYPE = "EXPRESSION_TYPE"
EXPRESSION_TOO_COMPLEX = "EXPRESSION_TOO_COMPLEX"
EXPRESSION_TOO_LONG = "EXPRESSION_TOO_LONG"

# --- business rules ---------------------------------------------------------------------------------
NOT_ALLOWED = "NOT_ALLOWED"  # a value valid in itself that this state or rule does not accept
NOT_READABLE = "NOT_READABLE"  # a file or table that cannot be read

CATALOGUE: dict[str, str] = {
    REQUIRED: "missing or empty where a value is needed",
    TOO_LONG: "text longer than its limit",
    TOO_MANY: "more items than the list allows",
    OUT_OF_RANGE: "a number, time or size outside its documented range",
    UNKNOWN_ENUM: "an enum value the contract does not define, or UNSPECIFIED where one is needed",
    BAD_FORMAT: "text that does not parse (ids, codes, dates, page tokens, table cells)",
    NOT_FINITE: "NaN or infinity",
    UNDECODABLE: "bytes that do not decode (not a message, not UTF-8)",
    DUPLICATE: "the same item more than once where items must be distinct",
    ONE_OF: "exactly one of several fields must be set",
    INCONSISTENT: "fields that contradict each other",
    UNKNOWN_ID: "names something this service does not have",
    STALE: "a token or version that belongs to another listing or an older state",
    EXPRESSION_SYNTAX: "the expression does not parse",
    EXPRESSION_UNKNOWN_NAME: "the expression names a feature or tag that does not exist",
    EXPRESSION_TYPE: "the expression combines values of the wrong types",
    EXPRESSION_TOO_COMPLEX: "the expression is nested or sized beyond the language's bounds",
    EXPRESSION_TOO_LONG: "the expression text is longer than its limit",
    NOT_ALLOWED: "a valid value that the current state or a business rule does not accept",
    NOT_READABLE: "a file or table that cannot be read",
}
"""Every reason, with what it means (docs/ARCHITECTURE.md lists the same)."""

REASONS = frozenset(CATALOGUE)
