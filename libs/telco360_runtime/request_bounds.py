"""Bounds of every field of a request, checked by one walker over its protobuf descriptor.

A service names its limits (`FieldBounds`); `RequestBounds` compiles, once per message type,
a plan of checks for every field and applies it to each request before any work, so no
field can be forgotten:
- enums: a value the proto defines (proto3 keeps unknown numbers) -> UNKNOWN_ENUM;
- strings: a length limit, and no NUL -> TOO_LONG / BAD_FORMAT; bytes: a length limit;
- repeated fields and maps: a count limit -> TOO_MANY; map keys and values bounded too;
- integers and floats: an inclusive range (floats finite) -> OUT_OF_RANGE / NOT_FINITE;
- Timestamps: the suite's documented range (bounds.check_timestamp);
- nested messages: walked the same way.

Limits are looked up by "Message.field" first, then by the plain field name (the same name
meaning the same kind of value in every message of a service), then the service's default.
A default of None makes the service name every field: compiling the plan of a message with
an unnamed field raises KeyError, which a test that walks every request descriptor catches
when the contract grows a field without a bound. Map keys and values are looked up as
"Message.field.key" / "Message.field.value". A text limit of 0 means only the server's
message size bounds the field (e.g. an uploaded table).

Paths are those of the request ("policy.caps[2].window.kind", "rows[3].features[x].key"),
every violation is reported together, and a bad value is echoed only through
`bounds.preview`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from telco360_runtime import bounds as b
from telco360_runtime.errors import ViolationCollector

# A check's return value is ignored (the lambdas below return what the bounds helpers do).
Check = Callable[[ViolationCollector, str, Any], object]
_TIMESTAMP = "google.protobuf.Timestamp"
_ANY_FLOAT = "any"


@dataclass(frozen=True)
class FieldBounds:
    """A service's limits per field ("Message.field" or "field"), with defaults.

    `floats` values of None take any float64 (e.g. feature values, where NaN means missing).
    """

    text: Mapping[str, int] = field(default_factory=dict)
    count: Mapping[str, int] = field(default_factory=dict)
    ints: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    floats: Mapping[str, tuple[float, float] | None] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    """"Message.field" names checked elsewhere (e.g. on their converted form)."""
    default_text: int | None = None
    default_bytes: int | None = None
    default_count: int | None = None
    default_int: tuple[int, int] | None = None
    default_float: tuple[float, float] | str | None = None
    """A range, `ANY_FLOAT` for any float64, or None (every float field named)."""
    default_map_key: int | None = None
    default_map_value: int | None = None


ANY_FLOAT = _ANY_FLOAT


def _key(fd: FieldDescriptor) -> str:
    return f"{cast(Descriptor, fd.containing_type).name}.{fd.name}"


def _is_map(fd: FieldDescriptor) -> bool:
    t = fd.message_type
    return fd.is_repeated and t is not None and t.GetOptions().map_entry


def _lookup(table: Mapping[str, Any], fd: FieldDescriptor, default: Any, suffix: str = "") -> Any:
    for name in (f"{_key(fd)}{suffix}", f"{fd.name}{suffix}"):
        if name in table:
            return table[name]
    if default is None:
        raise KeyError(f"{_key(fd)}{suffix}: no bound named for this field")
    return default


def _text_check(limit: int, is_bytes: bool) -> Check:
    unit = "bytes" if is_bytes else "characters"

    def check(out: ViolationCollector, path: str, value: Any) -> None:
        if limit and len(value) > limit:
            out.add(path, f"must be at most {limit} {unit} (got {len(value)})", b.TOO_LONG)
        elif not is_bytes and "\x00" in value:
            # PostgreSQL text cannot hold NUL, and no business text needs it.
            out.add(path, "must not contain NUL (0x00) characters", b.BAD_FORMAT)

    return check


class RequestBounds:
    """The compiled bounds of one service's requests (plans built once per message type)."""

    def __init__(self, limits: FieldBounds) -> None:
        self.limits = limits
        self._plans: dict[str, list[tuple[str, Check]]] = {}

    # ------------------------------------------------------------------ use
    def violations(self, request: Message, out: ViolationCollector | None = None) -> ViolationCollector:
        """Every bound `request` breaks, added to `out` (a new collector when None)."""
        out = out if out is not None else ViolationCollector()
        self._walk(out, "", request, self.plan(cast(Descriptor, request.DESCRIPTOR)))
        return out

    def plan(self, descriptor: Descriptor) -> list[tuple[str, Check]]:
        """(field name, check) for every field of a message that needs one (built once)."""
        cached = self._plans.get(descriptor.full_name)
        if cached is not None:
            return cached
        plan: list[tuple[str, Check]] = []
        self._plans[descriptor.full_name] = plan  # recursion guard; filled in place
        try:
            for fd in descriptor.fields:
                check = self._field_check(fd)
                if check is not None:
                    plan.append((fd.name, check))
        except KeyError:
            del self._plans[descriptor.full_name]
            raise
        return plan

    # ------------------------------------------------------------------ compile
    def _walk(self, out: ViolationCollector, prefix: str, msg: Message, plan: list[tuple[str, Check]]) -> None:
        base = f"{prefix}." if prefix else ""
        for name, check in plan:
            check(out, f"{base}{name}", msg)

    def _text_limit(self, fd: FieldDescriptor, suffix: str = "") -> int:
        lim = self.limits
        is_bytes = fd.type == FieldDescriptor.TYPE_BYTES
        if suffix == ".key":
            default = lim.default_map_key
        elif suffix == ".value":
            default = lim.default_map_value
        else:
            default = lim.default_bytes if is_bytes else lim.default_text
        return _lookup(lim.text, fd, default, suffix)

    def _scalar_check(self, fd: FieldDescriptor) -> Check | None:
        lim, t = self.limits, fd.type
        if t == FieldDescriptor.TYPE_ENUM:
            enum = cast(EnumDescriptor, fd.enum_type)
            return lambda out, path, v: None if v in enum.values_by_number else b.check_enum(out, path, v, enum)
        if t in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
            return _text_check(self._text_limit(fd), t == FieldDescriptor.TYPE_BYTES)
        if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            rng = _lookup(lim.floats, fd, lim.default_float)
            if rng is None or rng == _ANY_FLOAT:
                return None
            lo, hi = rng
            return lambda out, path, v: None if lo <= v <= hi else b.check_float(out, path, v, lo=lo, hi=hi)
        if t == FieldDescriptor.TYPE_BOOL:
            return None
        lo_i, hi_i = _lookup(lim.ints, fd, lim.default_int)
        return lambda out, path, v: None if lo_i <= v <= hi_i else b.check_int(out, path, v, lo=lo_i, hi=hi_i)

    def _map_check(self, fd: FieldDescriptor) -> Check:
        limit = _lookup(self.limits.count, fd, self.limits.default_count)
        entry = cast(Descriptor, fd.message_type)
        key_field = entry.fields_by_name["key"]
        key_check = (
            _text_check(self._text_limit(fd, ".key"), False) if key_field.type == FieldDescriptor.TYPE_STRING else None
        )
        value_field = entry.fields_by_name["value"]
        value_check: Check | None
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            value_plan = self.plan(cast(Descriptor, value_field.message_type))
            value_check = (lambda out, path, v: self._walk(out, path, v, value_plan)) if value_plan else None
        elif value_field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
            value_check = _text_check(self._text_limit(fd, ".value"), value_field.type == FieldDescriptor.TYPE_BYTES)
        else:
            value_check = None
        name = fd.name

        def check_map(out: ViolationCollector, path: str, parent: Any) -> None:
            mapping = getattr(parent, name)
            if not b.check_count(out, path, mapping, max_items=limit):
                return
            for k, v in mapping.items():
                shown = b.preview(k) if isinstance(k, str) and len(k) > b.PREVIEW_CHARS else k
                item = f"{path}[{shown}]"
                if key_check is not None:
                    key_check(out, f"{item}.key", k)
                if value_check is not None:
                    value_check(out, item, v)

        return check_map

    def _field_check(self, fd: FieldDescriptor) -> Check | None:
        if _key(fd) in self.limits.skip:
            return None
        if _is_map(fd):
            return self._map_check(fd)
        one: Check | None
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            message_type = cast(Descriptor, fd.message_type)
            if message_type.full_name == _TIMESTAMP:
                one = b.check_timestamp
            else:
                plan = self.plan(message_type)
                one = (lambda out, path, v: self._walk(out, path, v, plan)) if plan else None
        else:
            one = self._scalar_check(fd)
        name = fd.name
        if not fd.is_repeated:
            if one is None:
                return None
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                return lambda out, path, msg: one(out, path, getattr(msg, name)) if msg.HasField(name) else None
            return lambda out, path, msg: one(out, path, getattr(msg, name))
        limit = _lookup(self.limits.count, fd, self.limits.default_count)
        texts = fd.type == FieldDescriptor.TYPE_STRING
        text_limit = self._text_limit(fd) if texts else 0

        def check_list(out: ViolationCollector, path: str, parent: Any) -> None:
            items = getattr(parent, name)
            if not b.check_count(out, path, items, max_items=limit) or one is None or not len(items):
                return
            # Long lists of short text (ids) pass in C-level passes before any per-item work.
            if texts and (not text_limit or max(map(len, items)) <= text_limit) and "\x00" not in "".join(items):
                return
            for i, item in enumerate(items):
                one(out, f"{path}[{i}]", item)

        return check_list
