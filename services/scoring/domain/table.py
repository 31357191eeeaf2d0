"""Bring your own table: read a labelled CSV/Parquet table and split it for training.

The operator names the id column and the label column; every other column (of any type)
is a feature unless excluded. With a time column the rows at the latest time form the
holdout (time-based, like profile training); without one a seeded share of accounts is
held out. The id becomes `customer_id` and the label `label`, so the same training,
evaluation, registry and report code runs on it.

Errors name the problem, never the table's data: a message never lists column names or
cell values it found (the request's own column names are echoed only as short previews),
and parser errors are summarised by kind, since their text can quote a line of the file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from telco360_runtime.bounds import NAME_MAX, preview
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from .params import CHURN
from .schema import RESERVED_COLUMNS
from .training import validation_mask

CSV = "csv"
PARQUET = "parquet"
_TRUE = {"1", "true", "yes", "y", "t", "churn", "churned"}
_FALSE = {"0", "false", "no", "n", "f", "stay", "stayed", ""}
#: Most columns a brought table may have: keeps a model's schema (GetModel, ListModels) far
#: below the message limit.
MAX_TABLE_COLUMNS = 2000


@dataclass
class TableSplit:
    """A brought table ready for training: train and holdout frames and lineage facts."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    fingerprint: str
    rows: int
    holdout_rule: str


def detect_format(path: str, declared: str) -> str:
    """The table format from the request, or from the path's extension."""
    if declared:
        return declared
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return CSV
    if suffix in (".parquet", ".pq"):
        return PARQUET
    raise InvalidArgument(
        FieldViolation(
            "format", "cannot tell the format from the path's extension (.csv, .parquet or .pq); set format", "REQUIRED"
        )
    )


def _parse_problem(exc: Exception) -> str:
    """What kind of unreadable a table is, in words (the parser's own text may quote data)."""
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, pd.errors.EmptyDataError):
        return "it is empty"
    if isinstance(exc, pd.errors.ParserError):
        return "its rows do not have the same number of fields as the header"
    return "it is not a well-formed file of that format"


def read_table(content: bytes, fmt: str) -> pd.DataFrame:
    """Parse CSV or Parquet bytes into a frame (InvalidArgument when unreadable)."""
    try:
        if fmt == CSV:
            return pd.read_csv(io.BytesIO(content))
        if fmt == PARQUET:
            return pd.read_parquet(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - any parser error is the caller's bad table
        raise InvalidArgument(
            FieldViolation("table", f"cannot read the table as {fmt}: {_parse_problem(exc)}", "INVALID_FORMAT")
        ) from exc
    raise InvalidArgument(FieldViolation("format", f"unsupported format {preview(fmt)}", "INVALID_VALUE"))


def _binary_label(col: pd.Series) -> pd.Series:
    """0/1 from numbers, booleans or yes/no-like text; InvalidArgument otherwise."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype(np.int64)
    if pd.api.types.is_numeric_dtype(col):
        values = set(col.dropna().unique().tolist())
        if values <= {0, 1}:
            return col.fillna(0).astype(np.int64)
    text = col.astype(str).str.strip().str.lower()
    bad = set(text) - _TRUE - _FALSE
    if bad:
        raise InvalidArgument(
            FieldViolation(
                "label_column",
                f"churn labels must be 0/1, true/false or yes/no; {len(bad)} other distinct values found",
                "INVALID_VALUE",
            )
        )
    return text.isin(_TRUE).astype(np.int64)


def prepare_table(
    table: pd.DataFrame,
    content: bytes,
    *,
    id_column: str,
    label_column: str,
    kind: str = CHURN,
    time_column: str = "",
    holdout_fraction: float = 0.2,
    exclude: tuple[str, ...] = (),
    seed: int = 17,
) -> TableSplit:
    """Validate the columns, normalise id/label and split train/holdout."""
    bad: list[FieldViolation] = []
    if not id_column:
        bad.append(FieldViolation("id_column", "is required", "REQUIRED"))
    if not label_column:
        bad.append(FieldViolation("label_column", "is required", "REQUIRED"))
    named = [("id_column", id_column), ("label_column", label_column), ("time_column", time_column)]
    for i, (field_a, col_a) in enumerate(named):
        if col_a and any(col_a == col_b for _, col_b in named[:i]):
            bad.append(FieldViolation(field_a, "names a column that already has another role", "SAME_COLUMN"))
    bad.extend(
        FieldViolation(f, f"column {preview(c)} is not in the table ({len(table.columns)} columns)", "UNKNOWN_COLUMN")
        for f, c in named
        if c and c not in table.columns
    )
    bad.extend(
        FieldViolation(f"exclude_columns[{i}]", f"column {preview(c)} is not in the table", "UNKNOWN_COLUMN")
        for i, c in enumerate(exclude)
        if c not in table.columns
    )
    if bad:
        raise InvalidArgument(bad)
    if len(table.columns) > MAX_TABLE_COLUMNS:
        raise FailedPrecondition(
            f"the table has {len(table.columns)} columns; at most {MAX_TABLE_COLUMNS} are supported"
        )
    long_names = [i for i, c in enumerate(table.columns) if len(str(c)) > NAME_MAX]
    if long_names:
        raise FailedPrecondition(
            f"{len(long_names)} column names are longer than {NAME_MAX} characters (first: column {long_names[0] + 1})"
        )
    if table.columns.duplicated().any():
        raise FailedPrecondition("the table has columns with the same name")
    clashes = [c for c in table.columns if c in RESERVED_COLUMNS and c not in (id_column, label_column, time_column)]
    df = table.drop(columns=list(dict.fromkeys([*exclude, *clashes]))).copy()
    df = df[df[label_column].notna()]
    df = df.rename(columns={id_column: "customer_id", label_column: "label"})
    df["customer_id"] = df["customer_id"].astype(str)
    df["label"] = _binary_label(df["label"]) if kind == CHURN else pd.to_numeric(df["label"], errors="coerce")
    if kind != CHURN and df["label"].isna().any():
        raise InvalidArgument(FieldViolation("label_column", "value labels must be numbers", "INVALID_VALUE"))
    if time_column:
        times = df[time_column].astype(str)
        latest = times.max()
        hold = (times == latest).to_numpy()
        rule = f"time-based: rows with the latest {preview(time_column)} ({preview(latest)})"
        df = df.drop(columns=[time_column])
        if hold.all():
            raise FailedPrecondition("every row has the same time; a time-based holdout needs earlier rows too")
    else:
        frac = holdout_fraction if 0 < holdout_fraction < 1 else 0.2
        hold = validation_mask(df["customer_id"], frac, seed + 1)
        rule = f"random {frac:.0%} of accounts (seeded)"
    train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    if len(holdout) == 0:
        raise FailedPrecondition("the holdout is empty; the table is too small")
    return TableSplit(train, holdout, hashlib.sha256(content).hexdigest(), len(df), rule)
