"""timeconv over every Timestamp the wire can carry (int64 seconds, int32 nanos)."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from telco360_runtime import bounds, timeconv
from telco360_runtime.errors import InvalidArgument, ViolationCollector
from telco360_runtime.server import Registration
from telco360_runtime.status import field_violations

INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
# Edges are where conversions break: datetime's range, time_t, the suite's bounds, zero.
EDGES = st.sampled_from(
    [
        timeconv.MIN_DATETIME_SECONDS - 1,
        timeconv.MIN_DATETIME_SECONDS,
        timeconv.MAX_DATETIME_SECONDS,
        timeconv.MAX_DATETIME_SECONDS + 1,
        bounds.EARLIEST_SECONDS - 1,
        bounds.EARLIEST_SECONDS,
        bounds.LATEST_SECONDS - 1,
        bounds.LATEST_SECONDS,
        0,
        -1,
        2**31,
        -(2**31),
        2**63 - 1,
        -(2**63),
    ]
)
SECONDS = st.one_of(INT64, EDGES, st.integers(timeconv.MIN_DATETIME_SECONDS, timeconv.MAX_DATETIME_SECONDS))
NANOS = st.one_of(INT32, st.integers(0, 999_999_999), st.sampled_from([0, 999_999_999, 1_000_000_000, -1]))
FAST = settings(max_examples=400, deadline=None)


def representable(ts: Timestamp) -> bool:
    return (
        timeconv.MIN_DATETIME_SECONDS <= ts.seconds <= timeconv.MAX_DATETIME_SECONDS and 0 <= ts.nanos < 1_000_000_000
    )


@FAST
@given(seconds=SECONDS, nanos=NANOS)
def test_from_timestamp_converts_exactly_or_names_the_field(seconds: int, nanos: int) -> None:
    ts = Timestamp(seconds=seconds, nanos=nanos)
    if representable(ts):
        value = timeconv.from_timestamp(ts, "at")
        assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)
        assert value == ts.ToDatetime(tzinfo=dt.UTC)
        back = timeconv.to_timestamp(value)
        assert (back.seconds, back.nanos) == (seconds, nanos // 1000 * 1000)
        return
    with pytest.raises(InvalidArgument) as err:
        timeconv.from_timestamp(ts, "at")
    [violation] = err.value.violations
    assert violation.field == "at" and violation.reason == bounds.OUT_OF_RANGE
    assert len(violation.description) < 120


@FAST
@given(seconds=SECONDS, nanos=NANOS, required=st.booleans())
def test_time_field_applies_the_suite_bounds_and_never_raises(seconds: int, nanos: int, required: bool) -> None:
    ts = Timestamp(seconds=seconds, nanos=nanos)
    expected = ViolationCollector()
    valid = bounds.check_timestamp(expected, "record.at", ts, required=required)
    out = ViolationCollector()
    value = timeconv.time_field(out, "record.at", ts, required=required)
    assert out.violations == expected.violations
    if valid and timeconv.is_set(ts):
        assert value == ts.ToDatetime(tzinfo=dt.UTC)
        assert bounds.EARLIEST_TIME <= value < bounds.LATEST_TIME
    else:
        assert value is None
    if expected.violations:
        with pytest.raises(InvalidArgument) as err:
            timeconv.checked_time("record.at", ts, required=required)
        assert err.value.violations == expected.violations
    else:
        assert timeconv.checked_time("record.at", ts, required=required) == value


@FAST
@given(seconds=SECONDS, nanos=NANOS)
def test_time_field_with_custom_bounds(seconds: int, nanos: int) -> None:
    earliest, latest = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    out = ViolationCollector()
    value = timeconv.time_field(
        out, "window.start", Timestamp(seconds=seconds, nanos=nanos), earliest=earliest, latest=latest
    )
    assert value is None or earliest <= value < latest
    assert all(v.field == "window.start" for v in out.violations)


async def test_an_out_of_range_timestamp_answers_invalid_argument_over_grpc(start_service) -> None:
    async def when(request: Timestamp, ctx) -> Timestamp:
        return timeconv.to_timestamp(timeconv.from_timestamp(request, "at"))

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(when, Timestamp.FromString, Timestamp.SerializeToString)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Time", {"When": handler}),))

    service = await start_service([Registration(add, object(), "test.Time")])
    async with grpc.aio.insecure_channel(service.address) as channel:
        call = channel.unary_unary(
            "/test.Time/When",
            request_serializer=Timestamp.SerializeToString,
            response_deserializer=Timestamp.FromString,
        )
        for bad in (Timestamp(seconds=2**63 - 1), Timestamp(seconds=-(2**62)), Timestamp(seconds=0, nanos=-5)):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(bad)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert [v.field for v in field_violations(err.value)] == ["at"]
        edge = Timestamp(seconds=timeconv.MAX_DATETIME_SECONDS, nanos=999_999_000)
        assert await call(edge) == edge
