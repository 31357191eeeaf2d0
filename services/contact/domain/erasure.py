"""Erasure of an account in contact (domain layer, issue #15): the refusal and the result.

After profile's erasure reaches contact (ApplyErasure), the account has a tombstone and
every later decision or record about it is refused with `AccountErased`
(FAILED_PRECONDITION, ErrorInfo reason NOT_ALLOWED, "account erased"), before anything is
stored. What ApplyErasure removes and keeps is decided in store/erasure.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from telco360_runtime import reasons
from telco360_runtime.errors import FailedPrecondition


class AccountErased(FailedPrecondition):
    """A decision or record about an erased account (FAILED_PRECONDITION, reason NOT_ALLOWED)."""

    reason = reasons.NOT_ALLOWED

    def __init__(self, customer_id: str) -> None:
        super().__init__(
            f"account erased: contact refuses account '{customer_id}'", metadata={"customer_id": customer_id}
        )


@dataclass(frozen=True)
class Erasure:
    """An account's erasure as applied in contact's store (its tombstone).

    `removed` counts what the first application deleted or blanked; a repeat answers the
    same counts and time, with `repeated` set."""

    customer_id: str
    erasure_id: str
    erased_at: dt.datetime
    removed: dict[str, int] = field(default_factory=dict)
    repeated: bool = False
