"""A TTL cache with a circuit breaker in front of one peer call (peers layer), so that a live
call never waits on a peer that is down or slow.

Caching rules (each entry keeps the time it was fetched):
- fresh (younger than its TTL): served without a call;
- stale: refreshed with a short deadline (`peer_timeout_seconds`); if the peer fails the
  stale value is served (when younger than `max_stale_seconds`) and the answer is marked
  degraded with the reason;
- after a failure the peer is skipped for `peer_retry_seconds` (a circuit breaker), so
  callers during an outage get their degraded answer at once instead of after a timeout;
- values the cache is told not to keep (e.g. "profile does not know this account") are
  not cached, so an account ingested a moment later is known to the next call;
- one fetch per key is shared by the concurrent callers; it runs as its own task in a
  detached context (telco360_runtime.context.create_task: no caller's request id, role or
  deadline), so a caller that is cancelled or whose deadline passes never
  cancels or shortens it for the others, and its log lines carry no caller's request id.

A fetch fails with PeerUnavailable (peers.errors), TimeoutError (its deadline) or OSError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from services.contact.peers.errors import PeerUnavailable
from telco360_runtime import context as call_context
from telco360_runtime.logs import get_logger

V = TypeVar("V")


@dataclasses.dataclass
class _Entry(Generic[V]):
    value: V
    fetched: float


@dataclasses.dataclass(frozen=True)
class Fetched(Generic[V]):
    """A value from a cache or peer (None when unknown) and why it is degraded, if it is."""

    value: V | None
    degraded: str = ""


class PeerCache(Generic[V]):
    """A TTL cache in front of one peer call, with a circuit breaker."""

    def __init__(
        self,
        peer: str,
        ttl: float,
        max_stale: float,
        retry_after: float,
        timeout: float,
        keep: Callable[[V], bool] | None = None,
    ) -> None:
        self.peer, self.ttl, self.max_stale = peer, ttl, max_stale
        self.retry_after, self.timeout = retry_after, timeout
        self.keep = keep
        """Which fetched values are cached (default: all)."""
        self._entries: dict[str, _Entry[V]] = {}
        self._down_until = 0.0
        self._inflight: dict[str, asyncio.Task[V]] = {}
        self._log = get_logger()

    def peek(self, key: str) -> V | None:
        """The cached value, however old (tests and diagnostics)."""
        entry = self._entries.get(key)
        return entry.value if entry else None

    async def get(self, key: str, fetch: Callable[[], Awaitable[V]], fresh_after: float | None = None) -> Fetched[V]:
        """The value for key: cached when fresh, else fetched; stale or None when the peer fails.

        `fresh_after` (a time.time() instant) forces a refetch of entries older than it.
        """
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry.fetched < self.ttl:
            if fresh_after is None or (time.time() - (now - entry.fetched)) >= fresh_after:
                return Fetched(entry.value)
        if now < self._down_until:
            return self._fallback(entry, now, "unavailable (retrying shortly)")
        try:
            value = await self._fetch_once(key, fetch)
        except (TimeoutError, PeerUnavailable, OSError) as error:
            self._down_until = time.monotonic() + self.retry_after
            code = error.code if isinstance(error, PeerUnavailable) else type(error).__name__
            self._log.warning("peer_unavailable", peer=self.peer, code=code)
            return self._fallback(entry, now, f"unavailable ({code})")
        if self.keep is None or self.keep(value):
            self._entries[key] = _Entry(value, time.monotonic())
        return Fetched(value)

    async def _fetch_once(self, key: str, fetch: Callable[[], Awaitable[V]]) -> V:
        """One call per key at a time; concurrent callers share it (see the module docstring)."""
        task = self._inflight.get(key)
        if task is None:
            task = call_context.create_task(self._fetch(key, fetch))
            task.add_done_callback(_retrieve)
            self._inflight[key] = task
        return await asyncio.shield(task)

    async def _fetch(self, key: str, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            return await asyncio.wait_for(fetch(), self.timeout)
        finally:
            self._inflight.pop(key, None)

    def _fallback(self, entry: _Entry[V] | None, now: float, why: str) -> Fetched[V]:
        if entry is not None and now - entry.fetched < self.max_stale:
            age = int(now - entry.fetched)
            return Fetched(entry.value, f"{self.peer} {why}: using data cached {age} s ago")
        return Fetched(None, f"{self.peer} {why}: no cached data, using conservative defaults")


def _retrieve(task: asyncio.Task) -> None:
    """Mark a shared fetch's failure as seen (its callers may all have gone away)."""
    if not task.cancelled():
        task.exception()
