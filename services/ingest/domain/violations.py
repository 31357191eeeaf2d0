"""Field violations produced by validation, and the reason codes they use.

Validation never raises for a bad record: it collects every problem so that a caller sees
all of them at once. The reason codes are part of the public contract (clients filter the
quarantine by them), so they are listed here in one place.
"""

from __future__ import annotations

from typing import NamedTuple

REQUIRED = "REQUIRED"
"""A required field is empty or unset."""
INVALID_FORMAT = "INVALID_FORMAT"
"""A value does not have the expected shape (month, phone, e-mail, code, identifier)."""
OUT_OF_RANGE = "OUT_OF_RANGE"
"""A number, time or month lies outside the allowed range (negative money, future month)."""
INVALID_VALUE = "INVALID_VALUE"
"""A value is not one of the allowed values (unknown enum number, unknown industry)."""
TOO_LONG = "TOO_LONG"
"""A text is longer than the field allows."""
INCONSISTENT = "INCONSISTENT"
"""A value contradicts another field of the same record (end before start, ...)."""
CHECKSUM = "CHECKSUM"
"""A code's check character is wrong (unified social credit code)."""

REASONS: tuple[str, ...] = (
    REQUIRED,
    INVALID_FORMAT,
    OUT_OF_RANGE,
    INVALID_VALUE,
    TOO_LONG,
    INCONSISTENT,
    CHECKSUM,
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
