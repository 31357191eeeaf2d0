"""Erasure and history retention in contact (usecases layer, issue #15).

Profile coordinates the suite's erasure and calls ApplyErasure / LiftErasure with its
service identity until they answer. ApplyErasure deletes or strips the account's history
and leaves a tombstone, in one transaction under the account's lock (store/erasure.py says
what is removed and what is kept, and why); a repeat answers what the first one removed.
While the tombstone stands, every decision or record about the account is refused with
AccountErased before anything is stored (the use cases check it in their own write
transactions), and its account events trigger nothing. LiftErasure removes the tombstone.

Retention (`history_retention_days`, 0 = keep): a periodic sweep deletes decisions,
reservations and reserve requests recorded longer ago than that.
"""

from __future__ import annotations

import datetime as dt

from services.contact.domain.erasure import AccountErased, Erasure
from services.contact.store import erasure as repo
from services.contact.store.ledger import account_transaction, write_transaction
from services.contact.usecases.deps import Deps, unknown_account
from telco360_runtime.errors import DomainError, FieldViolation, InvalidArgument


def _required(out: list[FieldViolation], field: str, value: str) -> None:
    if not value.strip():
        out.append(FieldViolation(field, "required", "REQUIRED"))


async def unknown_or_erased(deps: Deps, customer_id: str) -> DomainError:
    """The answer for an account profile does not know: AccountErased when contact holds its
    tombstone (profile forgets erased accounts), NOT_FOUND otherwise."""

    def read() -> bool:
        with deps.db.session() as session:
            return repo.is_erased(session, customer_id)

    return AccountErased(customer_id) if await deps.db.run(read) else unknown_account(customer_id)


class ErasureUseCases:
    """ApplyErasure, LiftErasure and the history retention sweep."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def apply_erasure(self, erasure_id: str, customer_id: str) -> Erasure:
        """Erase the account's history and keep it erased (idempotent)."""
        bad: list[FieldViolation] = []
        _required(bad, "erasure_id", erasure_id)
        _required(bad, "customer_id", customer_id)
        if bad:
            raise InvalidArgument(bad)

        def tx() -> Erasure:
            with account_transaction(self.deps.db, customer_id) as session:
                return repo.apply_erasure(session, customer_id, erasure_id, self.deps.clock())

        # Next-best-offer answers still queued in the write-behind journal are dropped when
        # it writes them (it checks tombstones in its write transaction).
        return await self.deps.db.run(tx)

    async def lift_erasure(self, customer_id: str, reason: str) -> bool:
        """Lift the account's tombstone; False when it had none."""
        bad: list[FieldViolation] = []
        _required(bad, "customer_id", customer_id)
        _required(bad, "reason", reason)
        if bad:
            raise InvalidArgument(bad)

        def tx() -> bool:
            with account_transaction(self.deps.db, customer_id) as session:
                return repo.lift_erasure(session, customer_id)

        return bool(await self.deps.db.run(tx))

    async def purge_history(self, retention_days: int) -> dict[str, int]:
        """One retention round: delete decisions, reservations and reserve requests recorded
        more than `retention_days` ago (bounded chunks until none is left); counts per table."""
        totals = {"decisions": 0, "reservations": 0, "reserve_requests": 0}
        if retention_days <= 0:
            return totals
        cutoff = self.deps.clock() - dt.timedelta(days=retention_days)

        def tx() -> dict[str, int]:
            with write_transaction(self.deps.db) as session:
                return repo.delete_history_before(session, cutoff)

        while True:
            counts = await self.deps.db.run(tx)
            for label, n in counts.items():
                totals[label] += n
            if max(counts.values()) < repo.RETENTION_CHUNK:
                return totals
