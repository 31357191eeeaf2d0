"""Every field of every ScoringService request has a bound, generated from the descriptors.

The cases are not listed by hand: each test walks the request descriptors of every rpc, so
an enum, text, list or time field added to the contract is covered (or, without a bound in
request_bounds, fails test_every_request_field_has_a_bound).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.api import request_bounds as rb
from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.errors import InvalidArgument

SERVICE = pb.DESCRIPTOR.services_by_name["ScoringService"]
REQUESTS: dict[str, Descriptor] = {m.name: m.input_type for m in SERVICE.methods}
CLASSES = {
    "GetJobRequest": common_pb2.GetJobRequest,
    "ApplyErasureRequest": common_pb2.ApplyErasureRequest,
    "LiftErasureRequest": common_pb2.LiftErasureRequest,
}
TIMESTAMP = "google.protobuf.Timestamp"
INT32 = 2**31 - 1


def request_class(descriptor: Descriptor) -> type[Message]:
    return CLASSES.get(descriptor.name) or getattr(pb, descriptor.name)


def _is_map(f: FieldDescriptor) -> bool:
    return f.is_repeated and f.message_type is not None and f.message_type.GetOptions().map_entry


Setter = Callable[[Message], Any]


def leaves(
    descriptor: Descriptor,
    prefix: str = "",
    reach: Callable[[Message], Message] = lambda m: m,
) -> Iterator[tuple[str, FieldDescriptor, Callable[[Message, Any], None]]]:
    """(violation path, field, set(request, value)) for every scalar or Timestamp field.

    Repeated messages are entered through one element (path `[0]`); repeated scalars are
    set by appending one value; maps are left to their own test.
    """
    for f in descriptor.fields:
        path = f"{prefix}{f.name}"
        if _is_map(f):
            continue
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name != TIMESTAMP:
            if f.is_repeated:

                def into(m: Message, f: FieldDescriptor = f) -> Message:
                    items = getattr(reach(m), f.name)
                    return items[0] if len(items) else items.add()

                yield from leaves(f.message_type, f"{path}[0].", lambda m, into=into: into(m))
            else:
                yield from leaves(f.message_type, f"{path}.", lambda m, f=f: getattr(reach(m), f.name))
            continue
        if f.is_repeated:

            def add(m: Message, v: Any, f: FieldDescriptor = f) -> None:
                items = getattr(reach(m), f.name)
                (items.add().CopyFrom(v) if f.type == FieldDescriptor.TYPE_MESSAGE else items.append(v))

            yield f"{path}[0]", f, add
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            yield path, f, lambda m, v, f=f: getattr(reach(m), f.name).CopyFrom(v)
        else:
            yield path, f, lambda m, v, f=f: setattr(reach(m), f.name, v)


def fields_of(kind: Callable[[FieldDescriptor], bool]) -> list[tuple[str, str, FieldDescriptor, Any]]:
    return [(rpc, path, f, setter) for rpc, d in REQUESTS.items() for path, f, setter in leaves(d) if kind(f)]


ENUMS = fields_of(lambda f: f.type == FieldDescriptor.TYPE_ENUM)
TEXTS = fields_of(
    lambda f: (
        f.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
        and rb.TEXT[f"{f.containing_type.name}.{f.name}"] > 0
    )
)
TIMES = fields_of(lambda f: f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name == TIMESTAMP)
INTS = fields_of(lambda f: f"{f.containing_type.name}.{f.name}" in rb.INTS)


def _violations(rpc: str, setter: Callable[[Message, Any], None], value: Any) -> list[tuple[str, str]]:
    request = request_class(REQUESTS[rpc])()
    setter(request, value)
    return [(v.field, v.reason) for v in rb.violations(request).violations]


def test_every_request_field_has_a_bound() -> None:
    def walk(d: Descriptor, seen: set[str]) -> None:
        if d.full_name in seen or d.full_name == TIMESTAMP:
            return
        seen.add(d.full_name)
        for f in d.fields:
            key = f"{d.name}.{f.name}"
            if _is_map(f):
                assert key in rb.COUNT and f"{key}.key" in rb.TEXT, key
                value = f.message_type.fields_by_name["value"]
                if value.type == FieldDescriptor.TYPE_MESSAGE:
                    walk(value.message_type, seen)
                else:
                    assert f"{key}.value" in rb.TEXT, key
                continue
            if f.is_repeated:
                assert key in rb.COUNT, f"{key}: repeated field without a count limit"
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                walk(f.message_type, seen)
            elif f.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
                assert key in rb.TEXT, f"{key}: text without a length limit"
            elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
                assert key in rb.FLOATS, f"{key}: number without a documented range"
            elif f.type in (
                FieldDescriptor.TYPE_INT32,
                FieldDescriptor.TYPE_INT64,
                FieldDescriptor.TYPE_UINT32,
                FieldDescriptor.TYPE_UINT64,
            ):
                assert key in rb.INTS, f"{key}: integer without a range"

    seen: set[str] = set()
    for d in REQUESTS.values():
        walk(d, seen)
    # The walker itself builds a plan for every request (a missing bound would raise here).
    for d in REQUESTS.values():
        rb.violations(request_class(d)())
    assert {"ModelKind", "AutoPromote", "TableFormat"} <= {f.enum_type.name for _, _, f, _ in ENUMS}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_unknown_enum_values_answer_unknown_enum_naming_the_field(data: st.DataObject) -> None:
    rpc, path, f, setter = data.draw(st.sampled_from(ENUMS))
    defined = set(f.enum_type.values_by_number)
    value = data.draw(st.integers(-INT32 - 1, INT32).filter(lambda v: v not in defined))
    assert (path, bounds.UNKNOWN_ENUM) in _violations(rpc, setter, value)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_overlong_text_answers_too_long_naming_the_field(data: st.DataObject) -> None:
    rpc, path, f, setter = data.draw(st.sampled_from(TEXTS))
    limit = rb.TEXT[f"{f.containing_type.name}.{f.name}"]
    length = data.draw(st.integers(limit + 1, limit + 5000))
    value: Any = b"x" * length if f.type == FieldDescriptor.TYPE_BYTES else "x" * length
    got = _violations(rpc, setter, value)
    assert (path, bounds.TOO_LONG) in got
    # Just inside the limit is fine.
    inside: Any = value[:limit]
    assert (path, bounds.TOO_LONG) not in _violations(rpc, setter, inside)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_times_outside_the_suites_range_answer_out_of_range(data: st.DataObject) -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    rpc, path, f, setter = data.draw(st.sampled_from(TIMES))
    seconds = data.draw(
        st.one_of(
            st.integers(-62135596800, bounds.EARLIEST_SECONDS - 1), st.integers(bounds.LATEST_SECONDS, 253402300799)
        )
    )
    assert (path, bounds.OUT_OF_RANGE) in _violations(rpc, setter, Timestamp(seconds=seconds))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_integers_outside_their_range_answer_out_of_range(data: st.DataObject) -> None:
    rpc, path, f, setter = data.draw(st.sampled_from(INTS))
    lo, hi = rb.INTS[f"{f.containing_type.name}.{f.name}"]
    value = data.draw(st.one_of(st.integers(-INT32 - 1, lo - 1), st.integers(hi + 1, INT32)))
    assert (path, bounds.OUT_OF_RANGE) in _violations(rpc, setter, value)


def test_lists_maps_and_floats_have_limits() -> None:
    too_many = pb.ScoreCustomersRequest(customer_ids=[f"C{i}" for i in range(rb.MAX_IDS + 1)])
    assert [(v.field, v.reason) for v in rb.violations(too_many).violations] == [("customer_ids", bounds.TOO_MANY)]
    params = {f"p{i}": "1" for i in range(40)}
    assert ("parameters", bounds.TOO_MANY) in [
        (v.field, v.reason) for v in rb.violations(pb.TrainModelRequest(parameters=params)).violations
    ]
    gain = pb.TrainModelRequest(auto_promote_min_gain=float("nan"))
    assert [(v.field, v.reason) for v in rb.violations(gain).violations] == [
        ("auto_promote_min_gain", bounds.NOT_FINITE)
    ]
    # Feature values take any float64 (NaN is "missing").
    row = pb.FeatureRow(features={"x": common_pb2.AttributeValue(number_value=float("nan"))})
    assert not rb.violations(pb.ScoreFeaturesRequest(rows=[row])).violations


def test_feature_rows_are_bounded_after_conversion() -> None:
    from services.scoring.api import converters as cv

    rows = [
        pb.FeatureRow(
            row_id="a",
            features={
                "k" * 300: common_pb2.AttributeValue(number_value=1.0),
                "ok": common_pb2.AttributeValue(string_value="v" * 600),
            },
        ),
        pb.FeatureRow(
            features={f"f{i}": common_pb2.AttributeValue(bool_value=True) for i in range(rb.MAX_FEATURES + 1)}
        ),
    ]
    out = rb.violations(pb.ScoreFeaturesRequest(rows=rows))
    rb.check_feature_rows(out, cv.feature_rows(rows)[1])
    got = [(v.field, v.reason) for v in out.violations]
    assert ("rows[0].features[ok].string_value", bounds.TOO_LONG) in got
    assert ("rows[1].features", bounds.TOO_MANY) in got
    assert any(f.startswith("rows[0].features['kkk") and f.endswith(".key") for f, _ in got)
    assert len(got) == 3


def test_one_answer_lists_every_violation_without_echoing_values() -> None:
    request = pb.TrainFromTableRequest(
        kind=999,
        auto_promote=999,
        format=7,
        id_column="i" * 100_000,
        parameters={"num_leaves": "1", "learning_rate": "inf"},
        description="d" * 5000,
    )
    with pytest.raises(InvalidArgument) as err:
        rb.check(request)
    fields = {v.field for v in err.value.violations}
    assert fields == {
        "kind",
        "auto_promote",
        "format",
        "id_column",
        "description",
        "parameters[num_leaves]",
        "parameters[learning_rate]",
    }
    assert all(len(v.description) < 300 for v in err.value.violations)
    assert "iiiiiiiiii" not in str(err.value)
