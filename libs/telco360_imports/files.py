"""Rows of CSV, JSON Lines and Parquet files, for the bulk importer and `telco360 import`."""

from __future__ import annotations

import csv
import json
import pathlib
from collections.abc import Iterator
from typing import Any

FORMATS = ("csv", "jsonl", "parquet")


def detect_format(path: pathlib.Path) -> str:
    """csv, jsonl or parquet from the file name."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "csv"


def read_rows(path: pathlib.Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) pairs; row numbers count data rows from 1."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from enumerate(csv.DictReader(handle), start=1)
    elif fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            number = 0
            for line in handle:
                if line.strip():
                    number += 1
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as error:
                        yield number, {"__invalid_json__": f"{error.msg} at column {error.colno}"}
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    else:
        raise ValueError(f"unknown format {fmt!r}")


def count_rows(path: pathlib.Path, fmt: str) -> int | None:
    """Number of data rows when cheap to know (for the progress bar)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(0, lines - 1) if fmt == "csv" else lines
