"""JSON documents for domain dataclasses (policies, offers, campaigns, decisions, proposals).

One generic codec driven by the dataclasses' type hints: enums are stored by name (readable
and stable if numbers ever move), datetimes as ISO 8601 UTC, times as "HH:MM:SS",
tuples/frozensets as lists. Decoding rebuilds the exact dataclass; unknown keys are
ignored so documents written by a newer version can still be read.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import enum
import functools
import json
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, (frozenset, set)):
        items = [_encode(v) for v in value]
        return sorted(items, key=str)
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict) or isinstance(value, types.MappingProxyType):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    """A dataclass (or a structure of them) as compact JSON."""
    return json.dumps(_encode(value), separators=(",", ":"), ensure_ascii=False)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], data)
    if data is None:
        return None
    if origin in (tuple,):
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in data)
    if origin in (frozenset, set):
        return frozenset(_decode(args[0], v) for v in data)
    if origin in (list,):
        return [_decode(args[0], v) for v in data]
    if origin in (dict, collections.abc.Mapping):
        return {k: _decode(args[1], v) for k, v in data.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return decode_as(tp, data)
        if issubclass(tp, enum.Enum):
            return tp[data]
        if tp is dt.datetime:
            return dt.datetime.fromisoformat(data)
        if tp is dt.time:
            return dt.time.fromisoformat(data)
    return data


def decode_as(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a dataclass from its decoded JSON dict."""
    klass: type = cls
    hints = _hints(klass)
    kwargs = {
        f.name: _decode(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**kwargs)


def loads(cls: type[T], text: str) -> T:
    """Rebuild a dataclass from JSON written by `dumps`."""
    return decode_as(cls, json.loads(text))
