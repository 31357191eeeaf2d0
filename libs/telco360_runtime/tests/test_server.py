"""The shared server runtime, exercised through real grpc.aio servers and channels."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from telco360_runtime import context
from telco360_runtime.access import allow
from telco360_runtime.clients import open_channel
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from telco360_runtime.server import Registration
from telco360_runtime.status import field_violations, rich_status

from .conftest import raw_service


async def echo(request: bytes, ctx) -> bytes:
    return request


async def invalid(request: bytes, ctx) -> bytes:
    raise InvalidArgument([FieldViolation("record.billing.fee_fen", "must be >= 0", "OUT_OF_RANGE")])


async def missing(request: bytes, ctx) -> bytes:
    raise NotFound("customer", "C404")


async def crash(request: bytes, ctx) -> bytes:
    raise ZeroDivisionError("secret internals")


def call(channel: grpc.aio.Channel, method: str):
    return channel.unary_unary(method)


async def test_health_reports_serving_for_each_service(start_service) -> None:
    service = await start_service([raw_service("test.Echo", {"Echo": echo})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "test.Echo"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Check(health_pb2.HealthCheckRequest(service="no.Such"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_services(start_service) -> None:
    service = await start_service([raw_service("test.Echo", {"Echo": echo})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "test.Echo" in names and "grpc.health.v1.Health" in names


async def test_domain_errors_map_to_rich_statuses(start_service) -> None:
    service = await start_service([raw_service("test.E", {"Invalid": invalid, "Missing": missing, "Crash": crash})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.E/Invalid")(b"")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(err.value) == [FieldViolation("record.billing.fee_fen", "must be >= 0", "OUT_OF_RANGE")]

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.E/Missing")(b"")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert "C404" in err.value.details()
        assert rich_status(err.value.trailing_metadata()).code == grpc.StatusCode.NOT_FOUND.value[0]

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.E/Crash")(b"")
        assert err.value.code() == grpc.StatusCode.INTERNAL
        assert "secret" not in err.value.details()


async def test_peer_down_answers_unavailable(start_service) -> None:
    async def relay(request: bytes, ctx) -> bytes:
        async with open_channel("127.0.0.1:1", default_timeout=1.0) as peer:
            return await call(peer, "/test.Echo/Echo")(request)

    service = await start_service([raw_service("test.Relay", {"Relay": relay})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.Relay/Relay")(b"x", timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "dependency" in err.value.details()


async def test_request_id_crosses_services_and_appears_in_both_logs(start_service, log_capture) -> None:
    seen: dict[str, str] = {}

    async def downstream(request: bytes, ctx) -> bytes:
        seen["downstream"] = context.request_id()
        return request

    back = await start_service([raw_service("test.Back", {"Echo": downstream})], name="back")

    async def upstream(request: bytes, ctx) -> bytes:
        seen["upstream"] = context.request_id()
        async with open_channel(back.address) as peer:
            return await call(peer, "/test.Back/Echo")(request)

    front = await start_service([raw_service("test.Front", {"Call": upstream})], name="front")
    async with grpc.aio.insecure_channel(front.address) as channel:
        reply = await call(channel, "/test.Front/Call")(b"hi", metadata=(("x-request-id", "req-42"),))
    assert reply == b"hi"
    assert seen == {"upstream": "req-42", "downstream": "req-42"}
    rpc_lines = [r for r in log_capture.records() if r.get("event") == "rpc" and r.get("request_id") == "req-42"]
    assert {line["method"] for line in rpc_lines} == {"/test.Front/Call", "/test.Back/Echo"}
    assert all(line["code"] == "OK" and "duration_ms" in line for line in rpc_lines)


async def test_deadline_propagates_to_outgoing_calls(start_service) -> None:
    remaining: list[float] = []

    async def downstream(request: bytes, ctx) -> bytes:
        remaining.append(ctx.time_remaining())
        return request

    back = await start_service([raw_service("test.Back", {"Echo": downstream})], name="back")

    async def upstream(request: bytes, ctx) -> bytes:
        async with open_channel(back.address, default_timeout=30.0) as peer:
            return await call(peer, "/test.Back/Echo")(request)

    front = await start_service([raw_service("test.Front", {"Call": upstream})], name="front")
    async with grpc.aio.insecure_channel(front.address) as channel:
        await call(channel, "/test.Front/Call")(b"x", timeout=10.0)
    # The peer sees the caller's 10 s budget (grpc may pad it slightly), not the 30 s default.
    assert remaining and remaining[0] <= 11.0


async def test_graceful_stop_finishes_in_flight_call(start_service) -> None:
    started = asyncio.Event()

    async def slow(request: bytes, ctx) -> bytes:
        started.set()
        await asyncio.sleep(0.5)
        return b"finished"

    service = await start_service([raw_service("test.Slow", {"Slow": slow})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        in_flight = asyncio.ensure_future(call(channel, "/test.Slow/Slow")(b"", timeout=10))
        await started.wait()
        await service.stop(grace=5)
        assert await in_flight == b"finished"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.Slow/Slow")(b"", timeout=1)
        assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_bearer_tokens_required_when_configured(start_service) -> None:
    async def whoami(request: bytes, ctx) -> bytes:
        return context.caller_role().encode()

    service = await start_service([raw_service("test.Auth", {"WhoAmI": whoami})], auth_tokens={"s3cret": "analyst"})
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.Auth/WhoAmI")(b"")
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reply = await call(channel, "/test.Auth/WhoAmI")(b"", metadata=(("authorization", "Bearer s3cret"),))
        assert reply == b"analyst"
        health = health_pb2_grpc.HealthStub(channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING


async def test_peer_channels_carry_token_and_request_id_on_every_call_kind(start_service) -> None:
    # Streams used to leave without the token (UNAUTHENTICATED on IngestRecordBatches/ReadLog).
    def who() -> bytes:
        return f"{context.caller_role()}|{context.request_id()}".encode()

    async def unary(request: bytes, ctx):
        return who()

    async def server_stream(request: bytes, ctx):
        yield who()

    async def client_stream(requests, ctx):
        async for _ in requests:
            pass
        return who()

    async def both(requests, ctx):
        async for _ in requests:
            yield who()

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Both": grpc.stream_stream_rpc_method_handler(both),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Kinds", handlers),))

    kinds = {name: allow("service") for name in ("Unary", "ServerStream", "ClientStream", "Both")}
    service = await start_service([Registration(add, object(), "test.Kinds", kinds)], auth_tokens={"s3cret": "service"})
    request_id = "rid-every-kind"
    bound = context.bind(request_id, "/test.Outer/Call", None)
    try:
        async with open_channel(service.address, token="s3cret") as channel:
            replies = [
                await channel.unary_unary("/test.Kinds/Unary")(b""),
                *[r async for r in channel.unary_stream("/test.Kinds/ServerStream")(b"")],
                await channel.stream_unary("/test.Kinds/ClientStream")(iter([b"a", b"b"])),
                *[r async for r in channel.stream_stream("/test.Kinds/Both")(iter([b"a"]))],
            ]
    finally:
        context.reset(bound)
    assert replies == [f"service|{request_id}".encode()] * 4


async def test_metrics_count_each_rpc_by_method_and_code(start_service) -> None:
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        metrics_port = sock.getsockname()[1]
    service = await start_service(
        [raw_service("test.M", {"Ok": echo, "Bad": invalid})], name="metered", metrics_port=metrics_port
    )
    async with grpc.aio.insecure_channel(service.address) as channel:
        await call(channel, "/test.M/Ok")(b"")
        with pytest.raises(grpc.aio.AioRpcError):
            await call(channel, "/test.M/Bad")(b"")
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read())
    text = body.decode()
    assert 'telco360_rpc_requests_total{code="OK",method="/test.M/Ok",service="metered"} 1.0' in text
    assert 'telco360_rpc_requests_total{code="INVALID_ARGUMENT",method="/test.M/Bad",service="metered"} 1.0' in text
    assert 'telco360_rpc_duration_seconds_count{method="/test.M/Ok",service="metered"} 1.0' in text


async def test_health_probes_log_at_debug_and_other_rpcs_at_info(start_service, log_capture) -> None:
    service = await start_service([raw_service("test.Echo", {"Echo": echo})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        with pytest.raises(grpc.aio.AioRpcError):
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.Such"))
        await call(channel, "/test.Echo/Echo")(b"x")
    levels = {(r["method"], r["code"]): r["level"] for r in log_capture.records() if r.get("event") == "rpc"}
    assert levels[("/grpc.health.v1.Health/Check", "OK")] == "debug"
    assert levels[("/grpc.health.v1.Health/Check", "NOT_FOUND")] == "info"
    assert levels[("/test.Echo/Echo", "OK")] == "info"


async def test_request_id_comes_back_in_trailers_on_success_and_error(start_service) -> None:
    service = await start_service([raw_service("test.E", {"Echo": echo, "Missing": missing, "Crash": crash})])
    sent = (("x-request-id", "req-7"),)
    async with grpc.aio.insecure_channel(service.address) as channel:
        ok = call(channel, "/test.E/Echo")(b"x", metadata=sent)
        await ok
        assert ("x-request-id", "req-7") in tuple(await ok.trailing_metadata())
        for method in ("/test.E/Missing", "/test.E/Crash"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(channel, method)(b"", metadata=sent)
            assert dict(err.value.trailing_metadata())["x-request-id"] == "req-7"
        anonymous = call(channel, "/test.E/Echo")(b"x")
        await anonymous
        assert dict(await anonymous.trailing_metadata())["x-request-id"]  # one is made when none is sent


async def test_a_service_answering_unavailable_is_not_retried_by_peer_channels(start_service) -> None:
    """Peer channels retry UNAVAILABLE for lost connections; a service's own "dependency down"
    answer is final for that call (the caller degrades or retries itself, no amplification)."""
    calls: list[bytes] = []

    async def dependency_down(request: bytes, ctx) -> bytes:
        calls.append(request)
        raise Unavailable("scoring", "scoring did not answer")

    service = await start_service([raw_service("test.E", {"Down": dependency_down})])
    async with open_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(channel, "/test.E/Down")(b"once")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert calls == [b"once"]


def test_file_tokens_follow_the_file(tmp_path) -> None:
    from telco360_runtime.clients import FileToken

    path = tmp_path / "token"
    token = FileToken(str(path))
    assert token() == ""  # no file yet: no token, the peer answers UNAUTHENTICATED
    path.write_text("first\n")
    assert token() == "first"
    path.write_text("rotated-token")  # another size: seen on the next call
    assert token() == "rotated-token"
