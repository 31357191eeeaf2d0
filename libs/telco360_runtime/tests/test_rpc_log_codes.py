"""The RPC log line records the code the client really got, for calls that did not complete."""

from __future__ import annotations

import asyncio

import grpc

from telco360_runtime import context
from telco360_runtime.server import Registration
from telco360_runtime.testing import wait_until

from .conftest import raw_service

BIG = b"x" * (1 << 20)  # large answers fill the flow-control window: the stream waits at `yield`


async def flood(request: bytes, ctx):
    for _ in range(10_000):
        yield BIG


async def trickle(request: bytes, ctx):
    for _ in range(10_000):
        yield b"x"
        await asyncio.sleep(0.02)


async def written(request: bytes, ctx) -> None:
    for _ in range(10_000):
        await ctx.write(b"x")
        await asyncio.sleep(0.02)


SLOW_STARTED: list[str] = []


async def slow(request: bytes, ctx) -> bytes:
    SLOW_STARTED.append(context.request_id())
    await asyncio.sleep(30)
    return b"late"


async def refuse(request: bytes, ctx) -> bytes:
    ctx.set_code(grpc.StatusCode.FAILED_PRECONDITION)
    ctx.set_details("not now")
    return b""


def registration() -> Registration:
    handlers = {
        "Flood": grpc.unary_stream_rpc_method_handler(flood),
        "Trickle": grpc.unary_stream_rpc_method_handler(trickle),
        "Written": grpc.unary_stream_rpc_method_handler(written),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Refuse": grpc.unary_unary_rpc_method_handler(refuse),
    }

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Codes", handlers),))

    return Registration(add, object(), "test.Codes")


async def client_code(call) -> str:
    try:
        if hasattr(call, "read"):
            while (await call.read()) is not grpc.aio.EOF:
                pass
        else:
            await call
        return "OK"
    except grpc.aio.AioRpcError as error:
        return error.code().name


def logged(capture) -> dict[str, str]:
    return {r["request_id"]: r["code"] for r in capture.records() if r.get("event") == "rpc"}


async def wait_logged(capture, rids: list[str]) -> dict[str, str]:
    # The server logs when the call's task ends, which may be after the client saw its code.
    def complete() -> dict[str, str] | None:
        codes = logged(capture)
        return codes if all(rid in codes for rid in rids) else None

    try:
        return await wait_until(complete, timeout=30)
    except TimeoutError:
        raise AssertionError(f"no rpc line for {rids}: {logged(capture)}") from None


def rid(name: str) -> tuple[tuple[str, str]]:
    return (("x-request-id", name),)


async def test_calls_cut_at_shutdown_are_logged_as_the_unavailable_their_clients_got(
    start_service, log_capture
) -> None:
    service = await start_service([registration()])
    async with grpc.aio.insecure_channel(service.address) as channel:
        calls = {
            "flood": channel.unary_stream("/test.Codes/Flood")(b"", metadata=rid("flood")),
            "trickle": channel.unary_stream("/test.Codes/Trickle")(b"", metadata=rid("trickle")),
            "written": channel.unary_stream("/test.Codes/Written")(b"", metadata=rid("written")),
        }
        for call in calls.values():
            await call.read()  # each stream is running
        unary = channel.unary_unary("/test.Codes/Slow")(b"", metadata=rid("slow"))
        calls["slow"] = unary
        await wait_until(lambda: "slow" in SLOW_STARTED, timeout=10)  # the unary call is running in its handler
        stopping = asyncio.ensure_future(service.stop(grace=0.2))  # as on SIGTERM, grace runs out
        got = {name: await client_code(call) for name, call in calls.items()}
        await stopping
    assert set(got.values()) == {"UNAVAILABLE"}, got
    codes = await wait_logged(log_capture, list(calls))
    assert {name: codes[name] for name in calls} == got


async def test_cancelled_and_expired_calls_are_never_logged_ok(start_service, log_capture) -> None:
    service = await start_service([registration()])
    async with grpc.aio.insecure_channel(service.address) as channel:
        got = {}
        for method in ("Flood", "Trickle", "Written"):
            name = f"cancel-{method}"
            call = channel.unary_stream(f"/test.Codes/{method}")(b"", metadata=rid(name))
            await call.read()
            call.cancel()
            got[name] = "CANCELLED"
            name = f"deadline-{method}"
            got[name] = await client_code(
                channel.unary_stream(f"/test.Codes/{method}")(b"", timeout=0.5, metadata=rid(name))
            )
        got["deadline-Slow"] = await client_code(
            channel.unary_unary("/test.Codes/Slow")(b"", timeout=0.3, metadata=rid("deadline-Slow"))
        )
        call = channel.unary_unary("/test.Codes/Slow")(b"", metadata=rid("cancel-Slow"))
        await wait_until(lambda: "cancel-Slow" in SLOW_STARTED, timeout=10)
        call.cancel()
        got["cancel-Slow"] = "CANCELLED"
        got["refuse"] = await client_code(channel.unary_unary("/test.Codes/Refuse")(b"", metadata=rid("refuse")))
    assert got["refuse"] == "FAILED_PRECONDITION"
    assert all(got[f"deadline-{m}"] == "DEADLINE_EXCEEDED" for m in ("Flood", "Trickle", "Written", "Slow"))
    codes = await wait_logged(log_capture, list(got))
    assert {name: codes[name] for name in got} == got


async def test_calls_finishing_within_the_grace_period_stay_ok(start_service, log_capture) -> None:
    started = asyncio.Event()

    async def short(request: bytes, ctx) -> bytes:
        started.set()
        await asyncio.sleep(0.2)
        return b"done"

    service = await start_service([raw_service("test.Short", {"Short": short})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        call = channel.unary_unary("/test.Short/Short")(b"", metadata=rid("short"))
        await started.wait()
        await service.stop(grace=5.0)
        assert await call == b"done"
    assert (await wait_logged(log_capture, ["short"]))["short"] == "OK"
