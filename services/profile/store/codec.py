"""Small helpers shared by store modules: JSON encoding, UTC normalisation, chunking."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

T = TypeVar("T")
UTC = dt.UTC


def dumps(value: Any) -> str:
    """Compact JSON (non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def loads(text: str | None) -> Any:
    """Parse JSON ('' or None -> {})."""
    return json.loads(text) if text else {}


@overload
def utc(value: dt.datetime) -> dt.datetime: ...


@overload
def utc(value: None) -> None: ...


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC datetime (SQLite hands back naive values, stored as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def chunks(items: Sequence[T] | Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
