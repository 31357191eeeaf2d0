"""A bounded buffer between an IngestRecords request stream and its commit loop (api layer).

A reader task drains the client's stream into the inbox while the previous batch commits,
so records keep flowing during the database round trips; the commit loop takes whatever has
arrived (up to the batch size) in one go. Bounded, so a fast client is slowed by gRPC flow
control instead of filling memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """Single-producer, single-consumer buffer for one stream (event-loop thread only)."""

    def __init__(self, limit: int) -> None:
        self._items: deque[T] = deque()
        self._limit = max(1, limit)
        self._closed = False
        self._error: BaseException | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def fill(self, source: AsyncIterator[T]) -> None:
        """Copy the stream into the inbox until it ends (run as a task)."""
        items, readable = self._items, self._readable
        try:
            async for item in source:
                items.append(item)
                readable.set()
                if len(items) >= self._limit:
                    self._writable.clear()
                    await self._writable.wait()
        except Exception as error:  # noqa: BLE001 - handed to the consumer, which raises it
            self._error = error
        finally:
            self._closed = True
            readable.set()

    async def take(self, most: int, linger: float = 0.0) -> list[T]:
        """Up to `most` items, waiting for at least one; [] once the stream has ended.

        Raises the stream's error once everything that arrived before it was taken.
        """
        while not self._items and not self._closed:
            self._readable.clear()
            await self._readable.wait()
        if linger > 0 and not self._closed and len(self._items) < most:
            await asyncio.sleep(linger)
        items = self._items
        count = min(most, len(items))
        batch = [items.popleft() for _ in range(count)]
        if len(items) < self._limit:
            self._writable.set()
        if not batch and self._error is not None:
            raise self._error
        return batch

    async def take_weighted(self, budget: int, weight: Callable[[T], int]) -> list[T]:
        """Items whose total weight stays within `budget` (always at least one item)."""
        while not self._items and not self._closed:
            self._readable.clear()
            await self._readable.wait()
        items = self._items
        batch: list[T] = []
        total = 0
        while items and (not batch or total + weight(items[0]) <= budget):
            item = items.popleft()
            total += weight(item)
            batch.append(item)
        if len(items) < self._limit:
            self._writable.set()
        if not batch and self._error is not None:
            raise self._error
        return batch
