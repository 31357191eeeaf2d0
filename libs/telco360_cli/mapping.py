"""Reading records from files for `telco360 import`.

Two ways in:
- A `.jsonl` file without a mapping holds one `telco360.ingest.v1.Record` per line in
  protobuf's JSON form (what `python -m telco360_datagen` writes).
- Any CSV, JSON Lines or Parquet file with `--mapping` (YAML or JSON): the column mapping of
  ingest's bulk importer (`libs/telco360_imports/mapping.py` documents it), so the CLI and
  `python -m services.ingest.api.importer` read the same mapping files.

Rows that cannot even be turned into a record (a cell that is not a number, an unknown enum
name, a line that is not a Record) are reported with their row number and field, and the
import goes on. A broken mapping file, or a CSV without one, fails before anything is sent.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf import json_format

from telco360.ingest.v1 import ingest_pb2
from telco360_cli.errors import CliError
from telco360_imports import files as rowfiles
from telco360_imports.mapping import Mapping, MappingError, RowError, load_mapping, row_to_record


@dataclass
class RowProblems:
    """Rows the CLI could not convert (never sent), with why."""

    rows: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, path: pathlib.Path, number: int, why: str) -> None:
        """Remember one unconvertible row."""
        self.rows.append((str(path), number, why))


def count_rows(path: pathlib.Path) -> int:
    """Data rows in a file (for the progress bar)."""
    return rowfiles.count_rows(path, rowfiles.detect_format(path)) or 0


def load(mapping_path: pathlib.Path | None, files: list[pathlib.Path]) -> Mapping | None:
    """Check the files can be read as asked before anything is sent; the parsed mapping or None.

    Raises CliError for a broken mapping file, or a CSV/Parquet file given without a mapping.
    """
    if mapping_path is None:
        for path in files:
            fmt = rowfiles.detect_format(path)
            if fmt != "jsonl":
                raise CliError(
                    f"{path}: a {fmt} file needs --mapping (format: libs/telco360_imports/mapping.py, "
                    f"README 'Bring your own data')"
                )
        return None
    try:
        return load_mapping(mapping_path)
    except (MappingError, OSError, ValueError) as error:
        raise CliError(f"{mapping_path}: {error}") from None


def _protobuf_jsonl(path: pathlib.Path, problems: RowProblems) -> Iterator[ingest_pb2.Record]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json_format.Parse(line, ingest_pb2.Record())
            except (json_format.ParseError, json.JSONDecodeError) as error:
                problems.add(
                    path, number, f"not a Record in protobuf JSON ({error}); pass --mapping for other JSON Lines files"
                )


def read_records(path: pathlib.Path, mapping: Mapping | None, problems: RowProblems) -> Iterator[ingest_pb2.Record]:
    """Records from a file: protobuf JSON lines, or rows converted by a column mapping (from `load`).

    Rows that cannot be converted go to `problems` and are skipped, so the import goes on.
    """
    if mapping is None:
        yield from _protobuf_jsonl(path, problems)
        return
    for number, row in rowfiles.read_rows(path, rowfiles.detect_format(path)):
        try:
            yield row_to_record(mapping, row)
        except RowError as error:
            problems.add(path, number, str(error))
