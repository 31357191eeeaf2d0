"""Erasure of an account in scoring (usecases layer, issue #15): ApplyErasure and LiftErasure.

Profile coordinates the suite's erasure and calls these with its service identity until they
answer. ApplyErasure deletes the account's batch scores and latest score and leaves a
tombstone (`erased_accounts`) in one transaction; a repeat answers what the first one
removed. While the tombstone stands, ScoreCustomers answers the account NOT_FOUND ("is
erased") without asking profile, ScoreAll neither stores nor publishes a score for it, and
GetStoredScore answers NOT_FOUND. LiftErasure (an admin's reactivation through profile)
removes the tombstone; scores come back only from later scoring.
"""

from __future__ import annotations

from telco360_runtime.errors import FieldViolation, InvalidArgument

from ..domain.records import Erasure
from .base import UseCases


def _required(field: str, value: str, out: list[FieldViolation]) -> None:
    if not value.strip():
        out.append(FieldViolation(field, "required", "REQUIRED"))


class ErasureUseCases(UseCases):
    """Tombstones of erased accounts."""

    async def apply_erasure(self, erasure_id: str, customer_id: str) -> Erasure:
        """Erase an account's scores and keep it erased (idempotent)."""
        bad: list[FieldViolation] = []
        _required("erasure_id", erasure_id, bad)
        _required("customer_id", customer_id, bad)
        if bad:
            raise InvalidArgument(bad)
        return await self._db_run(self.ctx.store.apply_erasure, customer_id, erasure_id, self.ctx.clock())

    async def lift_erasure(self, customer_id: str, reason: str) -> bool:
        """Lift an account's tombstone; False when it had none."""
        bad: list[FieldViolation] = []
        _required("customer_id", customer_id, bad)
        _required("reason", reason, bad)
        if bad:
            raise InvalidArgument(bad)
        return bool(await self._db_run(self.ctx.store.lift_erasure, customer_id))
