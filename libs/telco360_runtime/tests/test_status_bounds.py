"""Error statuses stay small whatever a bad value holds (clients limit trailers to 8 KiB)."""

from __future__ import annotations

import urllib.parse

import grpc
import pytest
from google.rpc import error_details_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from telco360_runtime.errors import DomainError, FieldViolation, InvalidArgument, NotFound, Unavailable
from telco360_runtime.status import DESCRIPTION_MAX, MESSAGE_MAX, field_violations, rich_status, status_for

from .conftest import raw_service

HUGE = "x" * 200_000
HUGE_CJK = "天津市人民政府" * 30_000
TRAILER_LIMIT = 8 * 1024


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    for detail in rich_status(error.trailing_metadata()).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo")


def trailer_bytes(status: grpc.Status) -> int:
    """What the status costs in trailers: grpc-message percent-encoded, details base64."""
    size = len(urllib.parse.quote(status.details, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~").encode())
    for key, value in status.trailing_metadata:
        size += len(key) + (len(value) * 4 + 2) // 3
    return size


def raising(error: DomainError):
    async def behaviour(request: bytes, ctx) -> bytes:
        raise error

    return behaviour


@pytest.mark.parametrize("text", [HUGE, HUGE_CJK], ids=["ascii", "cjk"])
async def test_a_200_kb_description_comes_back_as_a_short_invalid_argument(start_service, text) -> None:
    errors = {
        "Description": InvalidArgument([FieldViolation("record.month", f"not a month: {text}", "BAD_FORMAT")]),
        "Field": InvalidArgument([FieldViolation(f"records[{text}]", "bad", "BAD_FORMAT")]),
        "Many": InvalidArgument(
            [FieldViolation(f"ids[{i}]", f"unknown id {text[:500]}", "UNKNOWN_ID") for i in range(10_000)]
        ),
        "Missing": NotFound("account", text),
        "Down": Unavailable(text),
    }
    methods = {name: raising(error) for name, error in errors.items()}
    service = await start_service([raw_service("test.Big", methods)])
    async with grpc.aio.insecure_channel(service.address) as channel:
        for name in errors:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await channel.unary_unary(f"/test.Big/{name}")(b"")
            # The real answer arrives, not RESOURCE_EXHAUSTED from an oversized trailer.
            assert err.value.code() == grpc.StatusCode[errors[name].grpc_code], name
            assert len(err.value.details()) <= MESSAGE_MAX
            assert sum(len(k) + len(v) for k, v in err.value.trailing_metadata()) < TRAILER_LIMIT
            assert error_info(err.value).reason == errors[name].reason

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Big/Description")(b"")
        [violation] = field_violations(err.value)
        assert violation.field == "record.month" and violation.reason == "BAD_FORMAT"
        assert violation.description.startswith("not a month: " + text[:20])
        assert f"({len(text) + 13} characters)" in violation.description
        assert len(violation.description) <= DESCRIPTION_MAX

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Big/Many")(b"")
        shown = field_violations(err.value)
        assert shown and [v.field for v in shown] == [f"ids[{i}]" for i in range(len(shown))]
        assert int(error_info(err.value).metadata["omitted_violations"]) == 10_000 - len(shown)


TEXT = st.text(min_size=0, max_size=3000)


@settings(max_examples=150, deadline=None)
@given(
    violations=st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=60),
    message=st.one_of(st.none(), TEXT),
)
def test_every_invalid_argument_fits_the_trailer_limit_and_keeps_its_first_violation(violations, message) -> None:
    error = InvalidArgument([FieldViolation(f, d, r) for f, d, r in violations], message=message)
    status = status_for(error)
    assert trailer_bytes(status) < TRAILER_LIMIT - 512  # room for the request id and grpc's own
    proto = rich_status(status.trailing_metadata)
    bad = error_details_pb2.BadRequest()
    [packed] = [d for d in proto.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)]
    packed.Unpack(bad)
    first_field, first_description, _ = violations[0]
    assert bad.field_violations[0].field[:20] == first_field[:20]
    assert bad.field_violations[0].description[:20] == first_description[:20]


@settings(max_examples=100, deadline=None)
@given(metadata=st.dictionaries(TEXT, TEXT, max_size=40), name=TEXT, kind=TEXT)
def test_other_errors_fit_the_trailer_limit(metadata, name, kind) -> None:
    for error in (NotFound(kind, name), DomainError(name, metadata=metadata), Unavailable(name)):
        assert trailer_bytes(status_for(error)) < TRAILER_LIMIT - 512
