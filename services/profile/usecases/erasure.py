"""Use cases: one erasure for the suite, coordinated by profile (request, status, dispatch, retention, reactivation).

`ErasureCases` (part of ProfileUseCases) records an erasure durably and erases profile's own
store in one transaction, answers status and listings, and lifts profile's tombstone on a
reactivation. `ErasureDispatcher` then calls every other service (ApplyErasure / LiftErasure)
until each has answered OK: once per periodic round and right after each request (`nudge`);
a service that is down stays PENDING with its last error and completes when it is back.
With `erase_terminated_after_days` it also requests erasures of accounts terminated longer ago.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from services.profile.domain import erasure as er
from services.profile.domain.events import CAUSE_ACCOUNT_CHANGE
from services.profile.store import erasures
from services.profile.store.refresh import refresh_accounts
from services.profile.usecases.base import ProfileBase
from telco360_runtime.audit import AuditTrail
from telco360_runtime.context import create_task
from telco360_runtime.errors import DomainError
from telco360_runtime.logs import get_logger


class ErasurePort(Protocol):
    """The other services an erasure must reach (peers/erasure.ErasurePeers)."""

    @property
    def services(self) -> list[str]: ...

    async def apply(
        self, service: str, erasure_id: str, customer_id: str, purge_facts: bool
    ) -> tuple[dict[str, int], dt.datetime | None]: ...

    async def lift(self, service: str, customer_id: str, reason: str) -> bool: ...


class ErasureCases(ProfileBase):
    """Erasure requests, status, listing, reactivation and the dispatcher's bookkeeping."""

    def request_erasure(
        self, customer_id: str, reason: str, purge: bool, trigger: str, peers: Sequence[str]
    ) -> tuple[er.ErasureView, bool] | None:
        """Erase profile's data and record the erasure for `peers` (see store/erasures.request_erasure)."""
        with self.write_session() as s:
            return erasures.request_erasure(self.tx(s), customer_id, reason, purge, trigger, peers)

    def erasure_status(self, customer_id: str) -> er.ErasureView | None:
        """The account's latest erasure (None: never erased)."""
        with self.db.session() as s:
            return erasures.latest_erasure(s, customer_id)

    def list_erasures(self, after: str, size: int, incomplete_only: bool) -> list[er.ErasureView]:
        """Up to size + 1 erasures after `after` (one more tells there is a next page)."""
        with self.db.session() as s:
            return erasures.list_erasures(s, after, size, incomplete_only)

    def reactivate(self, customer_id: str, reason: str) -> er.ErasureView | None:
        """Lift profile's tombstone (kept facts count again at once) and owe every service its lift."""
        with self.write_session() as s:
            tx = self.tx(s)
            view = erasures.reactivate(tx, customer_id, reason)
            if view is not None:
                rules, types = self.rules_for(s)
                refresh_accounts(tx, [customer_id], rules, types, self.revenue_base(s), CAUSE_ACCOUNT_CHANGE)
            return view

    def due_erasure_tasks(self, services: Sequence[str]) -> list[er.PeerTask]:
        """Calls owed to `services` (adding their missing parts to open erasures first)."""
        with self.write_session() as s:
            erasures.ensure_peer_rows(s, services)
        with self.db.session() as s:
            return erasures.due_tasks(s, services)

    def erasure_call_done(self, task: er.PeerTask, removed: dict[str, int], at: dt.datetime | None) -> None:
        """Record a service's OK."""
        with self.write_session() as s:
            erasures.mark_done(s, task, self.clock(), removed, at)

    def erasure_call_failed(self, tasks: Sequence[er.PeerTask], error: str) -> None:
        """Record a failed call for each task (one service's, retried next round), in one transaction."""
        with self.write_session() as s:
            now = self.clock()
            for task in tasks:
                erasures.mark_failed(s, task, now, error)

    def retention_due(self, days: int) -> list[str]:
        """Accounts terminated more than `days` ago and not erased (none when days is 0)."""
        cutoff = er.retention_cutoff(self.clock(), days)
        if cutoff is None:
            return []
        with self.db.session() as s:
            return erasures.retention_due(s, cutoff)


class ErasureDispatcher:
    """Calls each service until it applied (or lifted) every erasure; requests erasures by retention."""

    def __init__(
        self,
        cases: ErasureCases,
        peers: ErasurePort,
        *,
        retention_days: int = 0,
        audit: AuditTrail | None = None,
    ) -> None:
        self.cases = cases
        self.db = cases.db
        self.peers = peers
        self.retention_days = retention_days
        self.audit = audit
        self._lock = asyncio.Lock()
        self._again = False
        self._tasks: set[asyncio.Task] = set()
        self._log = get_logger(component="erasure_dispatcher")

    @property
    def services(self) -> list[str]:
        """The services erasures are sent to."""
        return self.peers.services

    def nudge(self) -> None:
        """Run a round now (after a request), without waiting for it."""
        task = create_task(self.run_once(), name="erasure-nudge")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """At start: resume erasures not yet applied everywhere, and a retention round (when on)."""
        for work, name in ((self.run_once, "erasure-resume"), (self.retention_round, "erasure-retention")):
            task = create_task(work(), name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def run_once(self) -> int:
        """Call every service owed a call; returns how many calls succeeded. One round at a time."""
        if self._lock.locked():
            self._again = True  # the running round goes once more, so the new request is not missed
            return 0
        async with self._lock:
            done = 0
            while True:
                self._again = False
                done += await self._round()
                if not self._again:
                    return done

    async def _round(self) -> int:
        tasks = await self.db.run(self.cases.due_erasure_tasks, self.services)
        down: dict[str, str] = {}
        skipped: dict[str, list[er.PeerTask]] = {}
        done = 0
        for task in tasks:
            if task.service in down:
                # Failed once this round: the rest is not called, and shows the same error.
                skipped.setdefault(task.service, []).append(task)
                continue
            try:
                if task.lift:
                    await self.peers.lift(task.service, task.customer_id, task.reason)
                    removed: dict[str, int] = {}
                    at = None
                else:
                    removed, at = await self.peers.apply(
                        task.service, task.erasure_id, task.customer_id, task.purge_facts
                    )
            except DomainError as error:
                code = getattr(error, "code", error.grpc_code)
                details = getattr(error, "details", str(error))
                text = er.error_text(str(code), str(details))
                down[task.service] = text
                await self.db.run(self.cases.erasure_call_failed, [task], text)
                self._log.warning(
                    "erasure_call_failed", service=task.service, erasure_id=task.erasure_id, code=str(code)
                )
                continue
            await self.db.run(self.cases.erasure_call_done, task, removed, at)
            done += 1
            self._log.info(
                "erasure_applied" if not task.lift else "erasure_lifted",
                service=task.service,
                erasure_id=task.erasure_id,
                customer_id=task.customer_id,
            )
        for service, rest in skipped.items():
            await self.db.run(self.cases.erasure_call_failed, rest, down[service])
        return done

    async def retention_round(self) -> int:
        """Request the erasure of accounts terminated longer ago than the retention period."""
        if self.retention_days <= 0:
            return 0
        due = await self.db.run(self.cases.retention_due, self.retention_days)
        made = 0
        reason = er.RETENTION_REASON.format(days=self.retention_days)
        for cid in due:
            out = await self.db.run(self.cases.request_erasure, cid, reason, False, er.TRIGGER_RETENTION, self.services)
            if out is not None and out[1]:
                made += 1
                if self.audit is not None:
                    self.audit.record("customer.erase", [cid], f"trigger=retention days={self.retention_days}")
        if made:
            self._log.info("retention_erasures", accounts=made)
            await self.run_once()
        return made

    async def stop(self) -> None:
        """Wait for a nudged round still running."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
