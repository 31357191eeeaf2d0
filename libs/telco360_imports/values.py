"""The payload kinds and the number rule shared by ingest's domain and the import mapping.

Pure Python (no protobuf), so the ingest domain can import it (a service may import a lib; a
lib imports no service). KINDS are the fields of ingest.proto's `payload` oneof, in the
contract's order (tests/test_values.py checks them against the stubs).
"""

from __future__ import annotations

import re
from decimal import Decimal

KINDS: tuple[str, ...] = (
    "account",
    "contact",
    "billing",
    "subscription",
    "service_event",
    "interaction",
    "competitor",
    "opportunity",
    "lifecycle",
    "cost",
)
"""Payload kinds, named as the `payload` oneof's fields in ingest.proto."""

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
DECIMAL_TEXT_MAX = 64
"""Longest number text accepted (digits beyond any int64 or double are not a number)."""


def ascii_decimal(text: str) -> Decimal | None:
    """The number written in `text` with ASCII digits only ('12', '-3.5', '1e6'), else None.

    Refuses what `int()` / `float()` would accept but a feed never means: full-width or
    other Unicode digits ('１２３'), '1_000', 'nan', 'inf' and surrounding junk.
    """
    text = text.strip()
    if len(text) > DECIMAL_TEXT_MAX or not _DECIMAL.fullmatch(text):
        return None
    return Decimal(text)
