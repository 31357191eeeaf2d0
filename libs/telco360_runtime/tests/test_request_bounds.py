"""The shared request-bounds walker: limits by name, defaults, strictness, paths, all at once."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2
from telco360_runtime import bounds
from telco360_runtime.request_bounds import ANY_FLOAT, FieldBounds, RequestBounds

LENIENT = RequestBounds(
    FieldBounds(
        text={"page_token": 8, "Job.kind": 3},
        ints={"page_size": (0, 100)},
        default_text=20,
        default_bytes=100,
        default_count=5,
        default_int=(0, 1000),
        default_float=(0.0, 1.0),
        default_map_key=10,
        default_map_value=10,
    )
)


def found(bounds_: RequestBounds, message) -> set[tuple[str, str]]:
    return {(v.field, v.reason) for v in bounds_.violations(message).violations}


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20))
def test_a_text_passes_exactly_when_short_and_free_of_nul(token: str) -> None:
    bad = found(LENIENT, common_pb2.PageRequest(page_token=token))
    assert bool(bad) == (len(token) > 8 or "\x00" in token)


def test_every_violation_of_a_request_is_reported_together() -> None:
    job = common_pb2.Job(kind="x" * 4, job_id="a\x00", done=-1, total=5000, created_at=Timestamp(seconds=2**40))
    assert found(LENIENT, job) == {
        ("kind", bounds.TOO_LONG),  # "Message.field" wins over the default
        ("job_id", bounds.BAD_FORMAT),
        ("done", bounds.OUT_OF_RANGE),
        ("total", bounds.OUT_OF_RANGE),
        ("created_at", bounds.OUT_OF_RANGE),
    }
    assert not found(LENIENT, common_pb2.Job(kind="abc", job_id="j1", done=3, total=5))


def test_unknown_enum_numbers_are_refused() -> None:
    assert found(LENIENT, common_pb2.Job(state=999)) == {("state", bounds.UNKNOWN_ENUM)}
    assert not found(LENIENT, common_pb2.Job(state=common_pb2.JOB_STATE_RUNNING))


def test_a_service_that_names_every_field_learns_of_an_unnamed_one() -> None:
    strict = RequestBounds(FieldBounds())
    with pytest.raises(KeyError, match="PageRequest.page_size"):
        strict.violations(common_pb2.PageRequest())


def test_a_long_bad_value_is_echoed_only_as_a_prefix() -> None:
    out = LENIENT.violations(common_pb2.PageRequest(page_size=10**9))
    assert all(len(v.description) < 200 for v in out.violations)


def test_map_entries_are_bounded_by_count_key_and_value() -> None:
    """A map counts as a list; a long key is reported on `.key`, a long value on its entry."""
    request = scoring_pb2.TrainModelRequest(parameters={"k" * 11: "v", "ok": "v" * 11})
    assert found(LENIENT, request) == {
        (f"parameters[{'k' * 11}].key", bounds.TOO_LONG),
        ("parameters[ok]", bounds.TOO_LONG),
    }
    many = scoring_pb2.TrainModelRequest(parameters={str(i): "v" for i in range(6)})
    assert found(LENIENT, many) == {("parameters", bounds.TOO_MANY)}


def test_skipped_fields_and_any_float_are_not_checked() -> None:
    """`skip` leaves a field to a service's own post-check; ANY_FLOAT takes NaN and infinities."""
    free = RequestBounds(
        FieldBounds(
            text={"TrainModelRequest.parameters.key": 1, "TrainModelRequest.parameters.value": 1},
            skip=frozenset({"TrainModelRequest.parameters"}),
            default_text=0,
            default_bytes=0,
            default_count=5,
            default_int=(0, 1000),
            default_float=ANY_FLOAT,
            default_map_key=10,
            default_map_value=10,
        )
    )
    request = scoring_pb2.TrainModelRequest(parameters={"long key": "long value"}, auto_promote_min_gain=float("nan"))
    assert not found(free, request)
