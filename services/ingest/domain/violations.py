"""Field violations produced by validation, and the reason codes they use.

Validation never raises for a bad record: it collects every problem so that a caller sees
all of them at once. The reason codes are part of the public contract (clients filter the
quarantine by them), so they are listed here in one place.
"""

from __future__ import annotations

from typing import NamedTuple

from telco360_runtime import bounds
from telco360_runtime.errors import FieldViolation

# The suite's shared codes (telco360_runtime.bounds) where they exist; the others are
# ingest's own and part of its contract since before the shared vocabulary.
REQUIRED = bounds.REQUIRED
"""A required field is empty or unset."""
INVALID_FORMAT = "INVALID_FORMAT"
"""A value does not have the expected shape (month, phone, e-mail, code, identifier)."""
OUT_OF_RANGE = bounds.OUT_OF_RANGE
"""A number, time or month lies outside the allowed range (negative money, future month)."""
INVALID_VALUE = "INVALID_VALUE"
"""A value is not one of the allowed values (unknown industry, unknown time zone)."""
TOO_LONG = bounds.TOO_LONG
"""A text is longer than the field allows."""
INCONSISTENT = "INCONSISTENT"
"""A value contradicts another field of the same record (end before start, ...)."""
CHECKSUM = "CHECKSUM"
"""A code's check character is wrong (unified social credit code)."""
NOT_FINITE = bounds.NOT_FINITE
"""A decimal number is NaN or infinite."""
TOO_MANY = bounds.TOO_MANY
"""A list or map has more entries than the field allows."""
UNKNOWN_ENUM = bounds.UNKNOWN_ENUM
"""An enum number the contract does not define."""

REASONS: tuple[str, ...] = (
    REQUIRED,
    INVALID_FORMAT,
    OUT_OF_RANGE,
    INVALID_VALUE,
    TOO_LONG,
    INCONSISTENT,
    CHECKSUM,
    NOT_FINITE,
    TOO_MANY,
    UNKNOWN_ENUM,
)


class Violation(NamedTuple):
    """One problem with one field, e.g. ("billing.fee_fen", "must be >= 0", OUT_OF_RANGE)."""

    field: str
    description: str
    reason: str


class Normalisation(NamedTuple):
    """A value the service rewrote into its canonical form (reported, not an error)."""

    field: str
    description: str
    reason: str = "NORMALISED"


REPORTED_VIOLATIONS_MAX = 20
"""Violations one INVALID_ARGUMENT lists; the rest are summed up in one more (status details
travel in trailers, which clients refuse beyond a few KiB)."""


def reported(violations: list[FieldViolation]) -> list[FieldViolation]:
    """The first REPORTED_VIOLATIONS_MAX violations, plus one that counts the others."""
    if len(violations) <= REPORTED_VIOLATIONS_MAX:
        return violations
    rest = len(violations) - REPORTED_VIOLATIONS_MAX
    return [*violations[:REPORTED_VIOLATIONS_MAX], FieldViolation("", f"and {rest} more violations", bounds.TOO_MANY)]
