"""Hypothesis strategies built from protobuf descriptors: any request of any RPC.

`messages(descriptor)` walks a message descriptor and draws a message whose fields take
random and edge values by field type: integers at the int32/int64 extremes and around 0,
huge, tiny and non-finite floats, long and unicode strings (full-width digits, control
characters, 100 KB), enum numbers outside the defined values, repeated fields and maps with
many items, nested messages, Timestamps outside every documented range. `mutations(good)`
starts from a valid request and replaces a few fields with such values, which reaches the
code behind validation that a purely random request rarely gets past. `raw_bytes()` draws
payloads that do not decode as any message (bad tags, truncated varints, invalid UTF-8).

Field names steer string values towards what the services look up (customer ids of the
seeded base, months, expressions, time zones), so that lookups find something to work on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT32_MAX, UINT64_MAX = 2**32 - 1, 2**64 - 1

#: Long strings used as edge values (built once: Hypothesis draws them by reference).
HUGE_TEXT = "x" * 100_000
LONG_TEXT = "长" * 5_000
#: A flat expression under the 4,000-character limit deep enough to hit a recursive parser.
FLAT_EXPRESSION = "1+" * 1995 + "1 > 0"

#: Integers around 0, at the edges of int32 and int64 and at business-looking values.
INT32_EDGES = [0, 1, -1, 2, 7, 999, -7, 1000, 1001, 10_000, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1]
INT64_EDGES = [
    *INT32_EDGES,
    INT64_MAX,
    INT64_MIN,
    INT64_MAX - 1,
    2**53,
    2**53 + 1,
    -(2**53),
    10**13,
    10**13 + 1,
    10**15,
    2**32,
]
FLOAT_EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1e308,
    -1e308,
    1.7976931348623157e308,
    5e-324,
    1e15,
    1e15 + 1,
    math.inf,
    -math.inf,
    math.nan,
    1e-300,
    2.0**63,
]

#: Strings that break parsers and limits: empty, blank, full-width digits, control and
#: combining characters, right-to-left, emoji, SQL and path fragments, 64/65/5,000/100,000
#: characters, numbers written in odd ways.
STRING_EDGES = [
    "",
    " ",
    "\t\n",
    "０１２３４５",
    "１２",
    "2026-１０",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "e\u0301\u0301\u0301",
    "😀" * 10,
    "客户",
    "C" * 64,
    "C" * 65,
    "C" * 129,
    LONG_TEXT,
    HUGE_TEXT,
    "-1",
    "9" * 40,
    "1e308",
    "NaN",
    "inf",
    "-inf",
    "' OR 1=1 --",
    "%s%s%n",
    "../../../etc/passwd",
    "/dev/zero",
    "${jndi:x}",
    "null",
    "0",
    "C1",
    "\ud7ff",
    "\ufeffBOM",
    "a" * 4001,
]
MONTH_EDGES = [
    "2026-09",
    "2026-10",
    "0000-00",
    "0001-01",
    "9999-12",
    "10000-01",
    "2026-13",
    "2026-00",
    "2026-1",
    "２０２６-０９",
    "1899-12",
    "1900-01",
    "2199-12",
    "2200-01",
    "-2026-01",
    "2026-09-01",
    HUGE_TEXT,
]
EXPRESSION_EDGES = [
    "true",
    "fee_total_last_month > 0",
    'attr.industry == "GOV"',
    'status == "ACTIVE"',
    FLAT_EXPRESSION,
    "(" * 2000 + "1" + ")" * 2000,
    "not " * 1000 + "true",
    "1 > ",
    "unknown_name > 1",
    "fee_total_last_month > 1e309",
    "fee_total_last_month / 0 > 1",
    '"' + "x" * 3990 + '" == "x"',
    "1 < 2 < 3",
    "a" * 4001,
    HUGE_TEXT,
    "fee_total_last_month > ０",
    'has_tag("x")',
]
TIME_ZONE_EDGES = [
    "Asia/Shanghai",
    "UTC",
    "Not/AZone",
    "Z" * 5000,
    "../../etc/localtime",
    "+08:00",
    "",
    "Asia/上海",
    "A" * 255,
    "A" * 256,
    "America/Argentina/ComodRivadavia",
    HUGE_TEXT,
]
#: Timestamp seconds: 0001-01-01, one second before (year 0), 9999-12-31T23:59:59, 10000-01-01,
#: the int64 extremes, 1900 and 2200 (the suite's documented range), the epoch and around now.
TIMESTAMP_SECONDS = [
    0,
    1,
    -1,
    -62135596800,
    -62135596801,
    253402300799,
    253402300800,
    INT64_MAX,
    INT64_MIN,
    -2208988800,
    7258118400,
    7258118399,
    1_790_000_000,
    1_780_000_000,
    2**31,
    -(2**31),
    10**12,
]
NANOS_EDGES = [0, 1, 999_999_999, 1_000_000_000, -1, INT32_MAX, INT32_MIN]


def _edges_or(values: Sequence, other: st.SearchStrategy) -> st.SearchStrategy:
    """Edge values about half the time, otherwise the general strategy."""
    return st.one_of(st.sampled_from(values), other)


@st.composite
def timestamps(draw: st.DrawFn, message_class: type[Message]) -> Message:
    """A Timestamp (or Duration) with edge or random seconds and nanos."""
    seconds = draw(_edges_or(TIMESTAMP_SECONDS, st.integers(INT64_MIN, INT64_MAX)))
    nanos = draw(st.one_of(st.just(0), st.sampled_from(NANOS_EDGES)))
    return message_class(seconds=seconds, nanos=nanos)


class Hints:
    """Values the services know, by field name (ids of the seeded base, ...).

    `pools` maps a field-name suffix ("customer_id", "policy_id", ...) to a function giving
    the values known now; a string field whose name ends with a suffix draws one of them
    about half the time.
    """

    def __init__(self, pools: dict[str, Callable[[], Sequence[str]]] | None = None) -> None:
        self.pools = pools or {}

    def pool(self, name: str) -> Callable[[], Sequence[str]] | None:
        """The pool of known values for a field name, if any; "customer_ids" matches "customer_id"."""
        base = name[:-1] if name.endswith("_ids") else name
        for suffix, pool in self.pools.items():
            if base == suffix or base.endswith("_" + suffix):
                return pool
        return None

    def strategy(self, name: str) -> st.SearchStrategy[str] | None:
        """Known values for a field, drawn so that the draw does not depend on the pool's size.

        Pools grow as the services answer ids; Hypothesis requires every replay of an example
        to draw the same way, so the strategy draws a number and maps it onto the pool as it
        is now (an unknown id while the pool is still empty).
        """
        pool = self.pool(name)
        if pool is None:
            return None

        def pick(index: int) -> str:
            values = pool()
            return values[index % len(values)] if values else f"unknown-{name}"

        return st.integers(0, 2**16).map(pick)


def _string_strategy(field: FieldDescriptor, hints: Hints, small: bool) -> st.SearchStrategy[str]:
    name = field.name
    edges = [s for s in STRING_EDGES if not small or len(s) <= 200]
    general = st.text(max_size=12 if small else 40)
    choices: list[st.SearchStrategy[str]] = [st.sampled_from(edges), general]
    if "month" in name:
        choices.append(st.sampled_from([m for m in MONTH_EDGES if not small or len(m) < 50]))
    if "expression" in name or name in ("eligibility", "target", "filter"):
        choices.append(st.sampled_from([e for e in EXPRESSION_EDGES if not small or len(e) < 200]))
    if "time_zone" in name:
        choices.append(st.sampled_from([z for z in TIME_ZONE_EDGES if not small or len(z) < 300]))
    known = hints.strategy(name)
    if known is not None:
        return st.one_of(known, known, *choices)
    return st.one_of(*choices)


def _scalar(field: FieldDescriptor, hints: Hints, small: bool) -> st.SearchStrategy:
    t = field.type
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _edges_or(INT32_EDGES, st.integers(INT32_MIN, INT32_MAX))
    if t in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return _edges_or(INT64_EDGES, st.integers(INT64_MIN, INT64_MAX))
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return _edges_or([0, 1, UINT32_MAX, 2**31], st.integers(0, UINT32_MAX))
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _edges_or([0, 1, UINT64_MAX, 2**63], st.integers(0, UINT64_MAX))
    if t == FieldDescriptor.TYPE_DOUBLE:
        return _edges_or(FLOAT_EDGES, st.floats(allow_nan=True, allow_infinity=True))
    if t == FieldDescriptor.TYPE_FLOAT:
        return _edges_or(
            [0.0, 3.4e38, -3.4e38, math.inf, -math.inf, math.nan, 1e-45],
            st.floats(width=32, allow_nan=True, allow_infinity=True),
        )
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_STRING:
        return _string_strategy(field, hints, small)
    if t == FieldDescriptor.TYPE_BYTES:
        edges = [b"", b"\x00", b"\xff" * 16, b"id,label\n1,2\n", b"PAR1\x00\x00PAR1"]
        if not small:
            edges.append(b"\x00" * 100_000)
        return _edges_or(edges, st.binary(max_size=64))
    if t == FieldDescriptor.TYPE_ENUM:
        defined = [v.number for v in field.enum_type.values]
        unknown = [999, -7, max(defined) + 1, -1, INT32_MAX, INT32_MIN]
        return st.one_of(st.sampled_from(defined), st.sampled_from(unknown))
    raise TypeError(f"unhandled field type {t} of {field.full_name}")


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def _single(field: FieldDescriptor, hints: Hints, depth: int, small: bool) -> st.SearchStrategy:
    """A strategy for one value of the field (an element when the field is repeated)."""
    if field.message_type is None:
        return _scalar(field, hints, small)
    name = field.message_type.full_name
    if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        return timestamps(message_factory.GetMessageClass(field.message_type))
    if depth <= 0:
        return st.just(message_factory.GetMessageClass(field.message_type)())
    return messages(field.message_type, hints, depth - 1, small)


def field_values(field: FieldDescriptor, hints: Hints, depth: int = 4, small: bool = False) -> st.SearchStrategy:
    """Values for a whole field: a scalar or message, or a list / dict for repeated and map fields."""
    if _is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        keys = _scalar(key_field, hints, True)
        few = st.dictionaries(keys, _single(value_field, hints, depth, small), max_size=4)
        many = st.builds(
            lambda v, n: {f"k{i}": v for i in range(n)},
            _single(value_field, hints, 0, True),
            st.sampled_from([1001, 1500]),
        )
        return st.one_of(few, few, many) if key_field.type == FieldDescriptor.TYPE_STRING else few
    if _is_repeated(field):
        few = st.lists(_single(field, hints, depth, small), max_size=3)
        # Many items of one small value: over every LIST_MAX without a huge message.
        many = st.builds(lambda v, n: [v] * n, _single(field, hints, 0, True), st.sampled_from([1001, 2000]))
        return st.one_of(few, few, few, many)
    return _single(field, hints, depth, small)


def _assign(msg: Message, field: FieldDescriptor, value: object) -> None:
    """Set a field of msg to a drawn value (any kind of field)."""
    if _is_map(field):
        target = getattr(msg, field.name)
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():  # type: ignore[union-attr]
            if value_field.message_type is not None:
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif _is_repeated(field):
        getattr(msg, field.name).extend(value)  # type: ignore[arg-type]
    elif field.message_type is not None:
        getattr(msg, field.name).CopyFrom(value)
    else:
        setattr(msg, field.name, value)


@st.composite
def messages(
    draw: st.DrawFn, descriptor: Descriptor, hints: Hints | None = None, depth: int = 4, small: bool = False
) -> Message:
    """A message of `descriptor` with a random subset of its fields set to random or edge values."""
    hints = hints or Hints()
    msg = message_factory.GetMessageClass(descriptor)()
    chosen_oneofs: set[str] = set()
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            if oneof.name in chosen_oneofs:
                continue
            if not draw(st.booleans()):
                continue
            chosen_oneofs.add(oneof.name)
        elif not draw(st.booleans()):
            continue
        _assign(msg, field, draw(field_values(field, hints, depth, small)))
    return msg


def _leaf_paths(msg: Message, prefix: tuple = ()) -> list[tuple[Message, FieldDescriptor]]:
    """Every (message, field) of msg and its set sub-messages, set or not."""
    out: list[tuple[Message, FieldDescriptor]] = []
    for field in msg.DESCRIPTOR.fields:
        out.append((msg, field))
        if field.message_type is not None and not _is_map(field):
            if _is_repeated(field):
                for item in getattr(msg, field.name):
                    out.extend(_leaf_paths(item))
            elif msg.HasField(field.name) and not field.message_type.full_name.startswith("google.protobuf."):
                out.extend(_leaf_paths(getattr(msg, field.name)))
    return out


@st.composite
def mutations(draw: st.DrawFn, good: Message, hints: Hints | None = None, max_changes: int = 3) -> Message:
    """A valid request with one to `max_changes` of its fields replaced by random or edge values."""
    hints = hints or Hints()
    msg = type(good)()
    msg.CopyFrom(good)
    for _ in range(draw(st.integers(1, max_changes))):
        paths = _leaf_paths(msg)
        owner, field = draw(st.sampled_from(paths))
        owner.ClearField(field.name)
        _assign(owner, field, draw(field_values(field, hints, depth=2)))
    return msg


#: Payloads that are no valid encoding of any message: a field number 0, a truncated varint,
#: a length beyond the end, an end-group with no start, invalid UTF-8 in field 1 (every
#: request whose field 1 is a string), a varint of 11 bytes, a deprecated group.
UNDECODABLE = [
    b"\x00",
    b"\x08\x80",
    b"\x0a\x05ab",
    b"\x0c",
    b"\x0a\x02\xff\xfe",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x0b\x0c\x08",
    b"\x0a\x80\x80\x80\x80\x10",
    b"\x12\x03\xc3\x28\x00",
    b"\x0f",
]


def raw_bytes() -> st.SearchStrategy[bytes]:
    """Undecodable payloads, or random bytes (most of which do not decode either)."""
    return st.one_of(st.sampled_from(UNDECODABLE), st.binary(min_size=1, max_size=32))
