"""Undecodable request bytes answer INVALID_ARGUMENT (UNDECODABLE) on every handler kind.

Raw bytes go over real channels (identity serializers) to a real in-process GrpcService whose
methods decode `google.protobuf.StringValue`, as generated stubs do.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import wrappers_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telco360_runtime.bounds import UNDECODABLE
from telco360_runtime.server import Registration
from telco360_runtime.status import field_violations

Value = wrappers_pb2.StringValue
# Field 1 (length-delimited) claims 5 bytes but carries 2; and a string that is not UTF-8.
TRUNCATED = b"\x0a\x05ab"
NOT_UTF8 = b"\x0a\x02\xff\xfe"
GOOD = Value(value="ok").SerializeToString()
SEEN: list[str] = []


async def echo(request: Value, ctx) -> Value:
    return Value(value=request.value)


async def echo_stream(request: Value, ctx):
    yield Value(value=request.value)


async def count(requests, ctx) -> Value:
    n = 0
    async for _ in requests:
        n += 1
    return Value(value=str(n))


async def count_by_read(requests, ctx) -> Value:
    n = 0
    while (await ctx.read()) is not grpc.aio.EOF:
        n += 1
    return Value(value=str(n))


async def relay(requests, ctx):
    async for request in requests:
        SEEN.append(request.value)
        yield Value(value=request.value)


def registration() -> Registration:
    decode, encode = Value.FromString, Value.SerializeToString
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, decode, encode),
        "EchoStream": grpc.unary_stream_rpc_method_handler(echo_stream, decode, encode),
        "Count": grpc.stream_unary_rpc_method_handler(count, decode, encode),
        "CountByRead": grpc.stream_unary_rpc_method_handler(count_by_read, decode, encode),
        "Relay": grpc.stream_stream_rpc_method_handler(relay, decode, encode),
    }

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Decode", handlers),))

    return Registration(add, object(), "test.Decode")


def assert_undecodable(error: grpc.RpcError, where: str) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = field_violations(error)
    assert violation.reason == UNDECODABLE and violation.field == "request"
    assert where in violation.description and "google.protobuf.StringValue" in violation.description


@pytest.mark.parametrize("garbage", [TRUNCATED, NOT_UTF8], ids=["truncated", "not-utf8"])
async def test_unary_requests_that_do_not_decode_answer_invalid_argument(start_service, log_capture, garbage) -> None:
    service = await start_service([registration()])
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Decode/Echo")(garbage)
        assert_undecodable(err.value, "the request could not be decoded")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in channel.unary_stream("/test.Decode/EchoStream")(garbage):
                pass
        assert_undecodable(err.value, "the request could not be decoded")
        # The service is unharmed: a good request is answered.
        assert await channel.unary_unary("/test.Decode/Echo")(GOOD) == GOOD
    codes = {(r["method"], r["code"]) for r in log_capture.records() if r.get("event") == "rpc"}
    assert ("/test.Decode/Echo", "INVALID_ARGUMENT") in codes
    assert ("/test.Decode/EchoStream", "INVALID_ARGUMENT") in codes


@pytest.mark.parametrize("method", ["Count", "CountByRead"])
async def test_a_bad_message_in_a_client_stream_ends_it_with_invalid_argument(start_service, method) -> None:
    service = await start_service([registration()])
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.stream_unary(f"/test.Decode/{method}")(iter([GOOD, GOOD, TRUNCATED, GOOD]))
        assert_undecodable(err.value, "message 3 of the request stream")
        # Positions are per call: the next call counts from its own first message.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.stream_unary(f"/test.Decode/{method}")(iter([NOT_UTF8]))
        assert_undecodable(err.value, "message 1 of the request stream")
        assert (
            await channel.stream_unary(f"/test.Decode/{method}")(iter([GOOD, GOOD]))
            == Value(value="2").SerializeToString()
        )


async def test_a_bad_message_in_a_bidi_stream_keeps_earlier_answers(start_service) -> None:
    SEEN.clear()
    service = await start_service([registration()])
    first = Value(value="first").SerializeToString()
    async with grpc.aio.insecure_channel(service.address) as channel:
        call = channel.stream_stream("/test.Decode/Relay")(iter([first, TRUNCATED, GOOD]))
        answers = []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for answer in call:
                answers.append(answer)
    assert answers == [first]
    assert SEEN == ["first"]  # the stream ended at the bad message; later ones were not read
    assert_undecodable(err.value, "message 2 of the request stream")


async def test_arbitrary_bytes_never_answer_unknown_or_internal(start_service) -> None:
    service = await start_service([registration()])

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.binary(max_size=64))
    def prop(data: bytes) -> None:
        with grpc.insecure_channel(service.address) as channel:
            try:
                Value.FromString(data)
                decodes = True
            except Exception:  # noqa: BLE001 - the oracle: does protobuf itself accept the bytes?
                decodes = False
            try:
                reply = channel.unary_unary("/test.Decode/Echo")(data, timeout=10)
                assert decodes and Value.FromString(reply) == Value(value=Value.FromString(data).value)
            except grpc.RpcError as error:
                assert not decodes
                assert_undecodable(error, "the request could not be decoded")
            try:
                channel.stream_unary("/test.Decode/Count")(iter([GOOD, data]), timeout=10)
                assert decodes
            except grpc.RpcError as error:
                assert not decodes
                assert_undecodable(error, "message 2 of the request stream")

    # A blocking channel in a worker thread while this loop serves the calls.
    await asyncio.to_thread(prop)
