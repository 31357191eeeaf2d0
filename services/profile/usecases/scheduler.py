"""Use case: background re-evaluation driven by time: window expiries and revenue-share refreshes.

Revenue shares (behind the value tiers) are re-ranked within seconds when the base's
size or total revenue moved by more than ProfileUseCases.SHARE_MOVE, and every account is
re-evaluated for its value tags every `base_refresh_seconds` regardless.

Expiry is scheduled by each account's next expiry (stored with the account), not swept
nightly: the task sleeps until the earliest one (bounded by a poll interval, since new
records may bring an earlier one), re-evaluates the accounts that are due, and repeats.
"""

from __future__ import annotations

import asyncio
import contextlib

from services.profile.domain import events as ev
from services.profile.usecases.profile import ProfileUseCases
from telco360_runtime.logs import get_logger


class TimeScheduler:
    """Runs expiry re-evaluation and periodic revenue-share refreshes."""

    def __init__(
        self, store: ProfileUseCases, poll_seconds: float, base_refresh_seconds: float, share_check_seconds: float = 2.0
    ) -> None:
        self.store = store
        self.poll = poll_seconds
        self.base_refresh = base_refresh_seconds
        self.share_check = share_check_seconds
        self._tasks: list[asyncio.Task] = []
        self._log = get_logger(component="time_scheduler")

    def start(self) -> None:
        """Start the background loops."""
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._expiry_loop()),
            loop.create_task(self._base_loop()),
            loop.create_task(self._shares_loop()),
        ]

    async def stop(self) -> None:
        """Stop the loops."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def run_due(self) -> int:
        """Re-evaluate every account whose window expired; returns how many."""
        total = 0
        while True:
            done = await self.store.db.run(self.store.expire_due)
            total += done
            if done == 0:
                return total

    async def catching_up(self) -> bool:
        """Whether the log is still being caught up or settled: base-wide work waits until it is done."""
        status = await self.store.db.run(self.store.sync_status)
        return status["pending_refresh"] > 0 or status["applied_sequence"] < status["ingest_last_sequence"]

    async def _expiry_loop(self) -> None:
        while True:
            try:
                # Recomputing an account mid catch-up would rank it against a partial base.
                if await self.catching_up():
                    await asyncio.sleep(min(self.poll, self.share_check))
                    continue
                await self.run_due()
                nxt = await self.store.db.run(self.store.next_expiry)
                wait = self.poll
                if nxt is not None:
                    wait = min(self.poll, max(0.0, (nxt - self.store.clock()).total_seconds()))
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - retry on the next round
                self._log.error("expiry_failed", exc_info=error)
                await asyncio.sleep(self.poll)

    async def _base_loop(self) -> None:
        while True:
            await asyncio.sleep(self.base_refresh)
            try:
                await self.store.db.run(self.store.reevaluate, self.value_tags(), ev.CAUSE_BASE_REFRESH)
            except Exception as error:  # noqa: BLE001 - retry on the next round
                self._log.error("base_refresh_failed", exc_info=error)

    async def rerank_shares_if_moved(self) -> int:
        """Re-rank revenue shares when the base moved (see ProfileUseCases.shares_stale); accounts patched."""
        if not await self.store.db.run(self.store.shares_stale):
            return 0
        patched = await self.store.db.run(self.store.refresh_revenue_shares)
        self._log.info("revenue_shares_reranked", accounts_patched=patched)
        return patched

    async def _shares_loop(self) -> None:
        # A bulk load or catch-up moves the base a lot within minutes: value tiers computed
        # against the partial base are brought level seconds after it settles, not at the
        # next hourly run.
        while True:
            await asyncio.sleep(self.share_check)
            try:
                # Ranking mid catch-up would tag value tiers against part of the base; the consumer
                # re-ranks once it settled.
                if not await self.catching_up():
                    await self.rerank_shares_if_moved()
            except Exception as error:  # noqa: BLE001 - retry on the next round
                self._log.error("share_rerank_failed", exc_info=error)

    def value_tags(self) -> set[str]:
        """Tags whose rules read base-relative features."""
        return self.store.value_tags()
