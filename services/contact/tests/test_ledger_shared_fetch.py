"""A peer fetch shared by concurrent callers survives the caller that started it
(issue 12, items 1 and 10): cancelling that caller neither cancels the fetch for the
others nor lends them its request id."""

from __future__ import annotations

import asyncio

import structlog

from services.contact.peers.accounts import PeerCache


async def test_cancelled_first_caller_does_not_cancel_the_shared_fetch() -> None:
    cache: PeerCache[str] = PeerCache("profile", ttl=60, max_stale=3600, retry_after=2, timeout=5)
    started, release = asyncio.Event(), asyncio.Event()
    seen_ids: list[object] = []

    async def fetch() -> str:
        seen_ids.append(structlog.contextvars.get_contextvars().get("request_id"))
        started.set()
        await release.wait()
        return "facts"

    async def caller(request_id: str) -> str:
        structlog.contextvars.bind_contextvars(request_id=request_id)
        return (await cache.get("C1", fetch)).value

    first = asyncio.create_task(caller("first-call"))
    await started.wait()
    second = asyncio.create_task(caller("second-call"))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "facts"
    assert first.cancelled()
    assert seen_ids == [None]  # the fetch ran in its own context, not the first caller's
    assert cache.peek("C1") == "facts"


async def test_unknown_accounts_are_not_cached() -> None:
    cache: PeerCache[str] = PeerCache(
        "profile", ttl=60, max_stale=3600, retry_after=2, timeout=5, keep=lambda value: value != "unknown"
    )
    answers = iter(["unknown", "known"])

    async def fetch() -> str:
        return next(answers)

    assert (await cache.get("C1", fetch)).value == "unknown"
    assert (await cache.get("C1", fetch)).value == "known"  # asked again, not served from cache
