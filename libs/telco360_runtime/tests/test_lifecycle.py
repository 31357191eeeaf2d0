"""GrpcService lifecycle: hooks in order, background work stopped, crashes reported."""

from __future__ import annotations

import asyncio
import threading

import pytest

from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.testing import wait_until


def settings() -> ServiceSettings:
    return ServiceSettings(service_name="lifecycle-test", port=0, host="127.0.0.1", metrics_port=0)


@pytest.mark.asyncio
async def test_hooks_run_in_order_and_blocking_ones_off_the_loop():
    service = GrpcService(settings(), [])
    seen: list[str] = []
    loop_thread = threading.get_ident()

    async def first() -> None:
        seen.append("start-async")

    def second() -> None:  # plain: must run in a worker thread
        seen.append("start-thread" if threading.get_ident() != loop_thread else "start-on-loop")

    async def drain_first() -> None:
        seen.append("before-drain")

    def close() -> None:
        seen.append("shutdown")

    service.add_startup(first)
    service.add_startup(second)
    service.add_shutdown(close)
    service.add_shutdown(drain_first, before_drain=True)
    await service.start()
    await service.stop(0)
    assert seen == ["start-async", "start-thread", "before-drain", "shutdown"]


@pytest.mark.asyncio
async def test_periodic_work_survives_a_failing_round_and_stops_with_the_service():
    service = GrpcService(settings(), [])
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("a bad moment")

    service.add_periodic("tick", 0.01, work)
    await service.start()
    await wait_until(lambda: len(rounds) >= 3, timeout=5, message="periodic work stopped after a failure")
    await service.stop(0)
    after_stop = len(rounds)
    # The periodic loop has returned (rounds run only inside it), so no round can follow.
    assert service._tasks and all(task.done() for task in service._tasks)
    assert len(rounds) == after_stop


@pytest.mark.asyncio
async def test_a_crashed_background_task_turns_health_not_serving():
    service = GrpcService(settings(), [])
    crashed = asyncio.Event()

    async def follower(stopping: asyncio.Event) -> None:
        crashed.set()
        raise ConnectionError("peer gone for good")

    service.add_background("follower", follower)
    await service.start()
    await crashed.wait()
    await wait_until(lambda: "worker:follower" in service.health_state.problems, timeout=5)
    await service.stop(0)
