"""In-process announcement of newly committed log sequences, for ReadLog in follow mode (usecases layer).

Followers wait on `LogNotifier.wait_beyond` with a timeout: a commit in this process wakes
them at once, and the timeout makes them poll the store, which finds entries committed by
other replicas sharing the same PostgreSQL database.
"""

from __future__ import annotations

import asyncio


class LogNotifier:
    """Tracks the highest sequence committed in this process and wakes followers."""

    def __init__(self) -> None:
        self._last = 0
        self._event = asyncio.Event()
        self.closed = False

    @property
    def last(self) -> int:
        """Highest sequence announced so far."""
        return self._last

    def publish(self, last_sequence: int) -> None:
        """Announce that everything up to `last_sequence` is committed (event-loop thread)."""
        if last_sequence > self._last:
            self._last = last_sequence
            self._event.set()
            self._event = asyncio.Event()

    def close(self) -> None:
        """Wake every follower for good (service shutting down)."""
        self.closed = True
        self._event.set()

    async def wait_beyond(self, sequence: int, timeout: float) -> None:
        """Return when a sequence above `sequence` is announced, or after `timeout`."""
        if self._last > sequence or self.closed:
            return
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
