"""Inserting many rows at once, as cheaply as the database driver allows.

On SQLite, SQLAlchemy's executemany spends about a quarter of log apply's CPU building and
type-processing parameters row by row. `insert_rows` hands the driver plain tuples instead,
formatting datetimes with SQLAlchemy's own SQLite processor (so stored text compares exactly
like values SQLAlchemy writes) and formatting each distinct datetime once. Other databases
use the ordinary Core insert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import DateTime, FromClause, Table, insert
from sqlalchemy.orm import Session


def insert_rows(s: Session, table: FromClause, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` (a model's `__table__`) in the session's transaction."""
    if not rows:
        return
    if not isinstance(table, Table):
        raise TypeError(f"insert_rows needs a Table, got {type(table).__name__}")
    conn = s.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        s.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    converters: list[Callable[[Any], Any] | None] = []
    for name in names:
        column = table.c[name]
        converters.append(_cached(column.type.bind_processor(dialect)) if isinstance(column.type, DateTime) else None)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    if not any(converters):
        params = [tuple(row[n] for n in names) for row in rows]
    else:
        pairs = list(zip(names, converters, strict=False))
        params = [tuple(row[n] if f is None else f(row[n]) for n, f in pairs) for row in rows]
    conn.exec_driver_sql(sql, params)


def _cached(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The processor, remembering each distinct value's result (months and batch times repeat a lot)."""
    if process is None:
        return lambda value: value
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        out = seen.get(value)
        if out is None:
            out = seen[value] = process(value)
        return out

    return convert
